"""Enrichment on write: the heuristic labels, the LLM enricher's checks, and the facade wiring.

Facade tests run on every mode against the real servers; the LLM is a scripted
:class:`~agentmem.lifecycle.llm.Completion` (the framework bridges have tests of their own).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterator, Sequence
from typing import Any

import pytest

from agentmem import (
    AgentMemSettings,
    CompletionError,
    ConfigError,
    HybridMemory,
    InvalidInput,
    Memory,
)
from agentmem.lifecycle import ENRICH_PROMPT, LABELS, HeuristicEnricher, LLMEnricher
from agentmem.lifecycle.enrichment import parse_labels
from tests.conftest import DIM, MODES, make_memory

TECHNICAL = ("The python script crashes with a KeyError, how do I fix it? Check the column "
             "names in the database query first.")


class Scripted:
    """A Completion answering from a script and recording prompts; at most ``peak`` at once."""

    def __init__(self, *answers: str, delay: float = 0.0) -> None:
        self.answers = list(answers)
        self.prompts: list[str] = []
        self.delay = delay
        self.running = self.peak = 0

    async def acomplete(self, prompt: str) -> str:
        self.prompts.append(prompt)
        self.running += 1
        self.peak = max(self.peak, self.running)
        await asyncio.sleep(self.delay)
        self.running -= 1
        return self.answers.pop(0)


class Counting(HeuristicEnricher):
    """The heuristic enricher, remembering the size of every batch it was given."""

    def __init__(self) -> None:
        self.batches: list[int] = []

    async def aenrich(self, memories: Sequence[Memory]) -> list[dict[str, Any]]:
        self.batches.append(len(memories))
        return await super().aenrich(memories)


class Returns:
    """An enricher returning a fixed answer, whatever the batch."""

    def __init__(self, answer: Any) -> None:
        self.answer = answer

    async def aenrich(self, memories: Sequence[Memory]) -> Any:
        return self.answer


@pytest.fixture(params=MODES)
def enriched(request: pytest.FixtureRequest, pg_url: str,
             chroma_url: str) -> Iterator[HybridMemory]:
    """A memory of each mode whose writes go through a (counting) HeuristicEnricher."""
    memory: HybridMemory = make_memory(request.param, pg_url, chroma_url, enricher=Counting())
    yield memory
    memory.close()


# -- the heuristic ----------------------------------------------------------------------------


@pytest.mark.parametrize(("text", "emotion"), [
    ("I am so happy, the trip was wonderful!", "positive"),
    ("My daughter loves her dog.", "positive"),  # "loves": a trailing s is dropped
    ("I am sad and worried about tomorrow.", "negative"),
    ("I am not happy with this at all.", "negative"),  # negated positive
    ("Not bad, I guess.", "positive"),  # negated negative
    ("It doesn't work, I'm frustrated.", "negative"),  # the negation stops at the comma
    ("Good news and bad news.", "neutral"),  # a tie
    ("The meeting moved to Friday.", "neutral"),
])
def test_heuristic_emotion(text: str, emotion: str) -> None:
    assert HeuristicEnricher().labels(text)["emotion"] == emotion


@pytest.mark.parametrize(("text", "topic"), [
    (TECHNICAL, "technical"),
    ("The meeting with my boss and two clients moved to Friday.", "work"),
    ("The doctor said my headaches come from poor sleep.", "health"),
    ("We booked flights and a hotel for the vacation.", "travel"),
    ("A recipe for a vegetarian dinner.", "food"),
    ("My sister and her husband visited with their kids.", "personal"),
    ("The weather is grey today.", "other"),
    ("Debug the server before the meeting.", "technical"),  # 2 technical against 1 work
    ("A python recipe.", "technical"),  # a tie goes to the earlier topic
])
def test_heuristic_topic(text: str, topic: str) -> None:
    assert HeuristicEnricher().labels(text)["topic"] == topic


@pytest.mark.parametrize(("text", "quality"), [
    ("Thanks, that fixed it!", "high"),
    (TECHNICAL, "high"),  # a question, an answer of 5+ words, 12+ words
    ("Why? Dunno.", "low"),  # no real answer, and under four words
    ("The meeting moved to Friday afternoon.", "medium"),
    ("ok", "low"),
    ("That was not helpful at all.", "low"),  # negated thanks is a complaint
    ("Your answer was wrong and the tool is useless for my long report today.", "low"),
    ("Thanks, but the first answer was wrong.", "medium"),  # +2 -2
])
def test_heuristic_interaction_quality(text: str, quality: str) -> None:
    assert HeuristicEnricher().labels(text)["interaction_quality"] == quality


def test_heuristic_labels_are_the_documented_ones() -> None:
    labels = HeuristicEnricher().labels("anything at all")
    assert set(labels) == set(LABELS)
    assert all(labels[key] in LABELS[key] for key in LABELS)


# -- the facade ---------------------------------------------------------------------------------


def test_enriched_metadata_is_stored_and_filterable(enriched: HybridMemory, agent_id: str) -> None:
    tech = enriched.remember(TECHNICAL, agent_id)
    trip = enriched.remember("I am so happy: we booked flights and a hotel for the vacation!",
                             agent_id)
    assert tech.metadata == {"emotion": "neutral", "topic": "technical",
                             "interaction_quality": "high"}
    assert enriched.get(trip.id, agent_id).metadata["emotion"] == "positive"
    hits = enriched.recall("hotel python script", agent_id, k=5, filter={"topic": "technical"})
    assert [h.memory.id for h in hits] == [tech.id]
    assert [m.id for m in enriched.memories(agent_id, filter={"topic": "travel"})] == [trip.id]
    assert [m.id for m in enriched.memories(
        agent_id, filter={"$and": [{"emotion": "positive"}, {"topic": {"$in": ["travel"]}}]})
    ] == [trip.id]


def test_caller_keys_win_and_batches_are_enriched_once(enriched: HybridMemory,
                                                       agent_id: str) -> None:
    mine = Memory(content=TECHNICAL, agent_id=agent_id, metadata={"topic": "work", "n": 1})
    other = Memory(content="The doctor said I sleep too little.", agent_id=agent_id)
    stored = enriched.remember_many([mine, other])
    assert stored[0].metadata == {"topic": "work", "n": 1, "emotion": "neutral",
                                  "interaction_quality": "high"}
    assert mine.metadata == {"topic": "work", "n": 1}  # the caller's object is left alone
    assert enriched.get(other.id, agent_id).metadata["topic"] == "health"
    assert enriched.memories(agent_id, filter={"topic": "technical"}) == []
    counting = enriched.enricher
    assert isinstance(counting, Counting) and counting.batches == [2]  # one call per write


def test_update_keeps_labels_unless_the_metadata_is_replaced(enriched: HybridMemory,
                                                             agent_id: str) -> None:
    m = enriched.remember("The doctor said I sleep too little.", agent_id)
    kept = enriched.update(m.id, agent_id, content="We booked a hotel for the vacation.")
    assert kept.metadata["topic"] == "health"  # the stored labels are the caller's now
    relabelled = enriched.update(m.id, agent_id, metadata={"source": "edit"})
    assert relabelled.metadata == {"source": "edit", "emotion": "neutral", "topic": "travel",
                                   "interaction_quality": "medium"}
    assert enriched.get(m.id, agent_id).metadata == relabelled.metadata


@pytest.mark.parametrize(("answer", "problem"), [
    ([{"topic": "x"}], "1 results for 2 memories"),
    ({"topic": "x"}, "dict results for 2 memories"),
    ([{"topic": float("nan")}, {}], "cannot be stored"),
    (["technical", {}], "cannot be stored"),
])
def test_a_bad_enricher_fails_the_write_and_stores_nothing(pg_url: str, chroma_url: str,
                                                           agent_id: str, answer: Any,
                                                           problem: str) -> None:
    memory = make_memory("hybrid", pg_url, chroma_url, enricher=Returns(answer))
    with pytest.raises(InvalidInput, match=problem):
        memory.remember_many([Memory(content="one", agent_id=agent_id),
                              Memory(content="two", agent_id=agent_id)])
    assert memory.memories(agent_id) == []
    memory.close()


def test_no_enricher_by_default_and_from_settings(pg_url: str, chroma_url: str,
                                                  agent_id: str) -> None:
    plain = make_memory("pgvector", pg_url, chroma_url)
    assert plain.enricher is None
    assert plain.remember(TECHNICAL, agent_id).metadata == {}
    plain.close()
    settings = AgentMemSettings(postgres_url=pg_url, mode="pgvector", embeddings=f"hashing:{DIM}")
    with HybridMemory.from_settings(settings, enricher=HeuristicEnricher()) as memory:
        assert memory.remember(TECHNICAL, agent_id).metadata["topic"] == "technical"
    with pytest.raises(ConfigError, match="aenrich"):
        HybridMemory.from_settings(settings, enricher=HeuristicEnricher().labels)  # type: ignore[arg-type]


# -- the LLM enricher -------------------------------------------------------------------------


@pytest.mark.parametrize("answer", [
    '{"emotion": "positive", "topic": "travel", "interaction_quality": "high"}',
    'Sure! ```json\n{"emotion": "Positive ", "topic": "TRAVEL",\n'
    '"interaction_quality": "high", "extra": 1}\n```',
])
def test_parse_labels_accepts_json_in_prose_and_any_case(answer: str) -> None:
    assert parse_labels(answer) == {"emotion": "positive", "topic": "travel",
                                    "interaction_quality": "high"}


@pytest.mark.parametrize(("answer", "problem"), [
    ("positive, travel, high", "no JSON object"),
    ('{"emotion": "positive", "topic": "travel"', "no JSON object"),
    ('["positive"]', "no JSON object"),
    ('{"emotion": "happy", "topic": "travel", "interaction_quality": "high"}',
     "emotion='happy': expected one of positive, negative, neutral"),
    ('{"emotion": "positive", "interaction_quality": "high"}', "topic=None"),
    ('{"emotion": "positive", "topic": "travel", "interaction_quality": 3}',
     "interaction_quality=3"),
])
def test_parse_labels_rejects_what_it_cannot_use(answer: str, problem: str) -> None:
    with pytest.raises(CompletionError, match=problem):
        parse_labels(answer)


def test_llm_enricher_asks_with_the_documented_prompt(agent_id: str) -> None:
    llm = Scripted('{"emotion": "negative", "topic": "food", "interaction_quality": "low"}')
    enricher = LLMEnricher(llm)
    [labels] = asyncio.run(enricher.aenrich([Memory(content="The soup was cold.",
                                                    agent_id=agent_id)]))
    assert labels == {"emotion": "negative", "topic": "food", "interaction_quality": "low"}
    assert llm.prompts == [ENRICH_PROMPT.replace("{text}", "The soup was cold.")]
    assert "technical, work, health, travel, food, personal, other" in llm.prompts[0]


def test_llm_enricher_through_the_facade(pg_url: str, chroma_url: str, agent_id: str,
                                         caplog: pytest.LogCaptureFixture) -> None:
    good = '{"emotion": "neutral", "topic": "work", "interaction_quality": "medium"}'
    llm = Scripted(good, "I cannot label this.", "no JSON here", good)
    memory = make_memory("hybrid", pg_url, chroma_url,
                         enricher=LLMEnricher(llm, "Label: {text}", max_concurrency=1))
    stored = memory.remember("The quarterly report is due.", agent_id)
    assert llm.prompts == ["Label: The quarterly report is due."]
    assert memory.memories(agent_id, filter={"topic": "work"}) == [stored]
    with pytest.raises(CompletionError, match="no JSON object"):
        memory.remember_many([Memory(content=t, agent_id=agent_id) for t in ("a b", "c d")])
    assert memory.memories(agent_id) == [stored]  # the failed batch stored nothing

    memory.enricher = LLMEnricher(Scripted("nonsense", good), fallback=HeuristicEnricher())
    with caplog.at_level(logging.WARNING, logger="agentmem.lifecycle.enrichment"):
        first, second = memory.remember_many([Memory(content=TECHNICAL, agent_id=agent_id),
                                              Memory(content="Lunch.", agent_id=agent_id)])
    assert first.metadata["topic"] == "technical"  # the heuristic's label
    assert second.metadata["topic"] == "work"  # the LLM's label
    assert "no JSON object" in caplog.text and first.id in caplog.text
    memory.close()


def test_llm_enricher_runs_a_batch_concurrently_within_its_limit(agent_id: str) -> None:
    answer = '{"emotion": "neutral", "topic": "other", "interaction_quality": "medium"}'
    llm = Scripted(*[answer] * 6, delay=0.02)
    memories = [Memory(content=f"memory {i}", agent_id=agent_id) for i in range(6)]
    labels = asyncio.run(LLMEnricher(llm, max_concurrency=2).aenrich(memories))
    assert len(labels) == 6 and llm.peak == 2
    assert llm.prompts == [ENRICH_PROMPT.replace("{text}", f"memory {i}") for i in range(6)]


def test_llm_enricher_rejects_bad_arguments_and_non_text_answers(agent_id: str) -> None:
    with pytest.raises(InvalidInput, match="placeholder"):
        LLMEnricher(Scripted(), prompt="no place for the text")
    with pytest.raises(InvalidInput, match="max_concurrency"):
        LLMEnricher(Scripted(), max_concurrency=0)
    with pytest.raises(InvalidInput, match="LangChainCompletion"):
        LLMEnricher(lambda prompt: "{}")  # type: ignore[arg-type]

    class Objects:
        async def acomplete(self, prompt: str) -> Any:
            return {"text": "{}"}

    with pytest.raises(CompletionError, match="returned dict, not str"):
        asyncio.run(LLMEnricher(Objects()).aenrich([Memory(content="x", agent_id=agent_id)]))
