"""Enrichment: labels added to each memory's metadata on write, before it is embedded.

An :class:`Enricher` gets the batch being written and returns, per memory, metadata to
add. The labels land under plain keys, so the filter language reaches them
(``memory.recall(q, agent, filter={"topic": "technical"})``); a key the caller already set
is never overwritten. Two enrichers label :data:`LABELS`:

- :class:`HeuristicEnricher`: word lists, no model, microseconds per memory.
- :class:`LLMEnricher`: asks a :class:`~agentmem.lifecycle.llm.Completion` for a JSON
  object and checks every value against :data:`LABELS`.

``HybridMemory(..., enricher=HeuristicEnricher())`` turns it on. The default is no
enricher: an LLM call per write costs money and time, and labels a caller did not ask for
would be a surprise in their metadata.
"""

from __future__ import annotations

import asyncio
import inspect
import json
import logging
import re
from collections.abc import Mapping, Sequence
from typing import Any, Protocol

from pydantic import ValidationError

from ..errors import CompletionError, ConfigError, InvalidInput
from ..models import Memory
from .llm import Completion, as_completion, complete

__all__ = ["ENRICH_PROMPT", "LABELS", "Enricher", "HeuristicEnricher", "LLMEnricher", "as_enricher",
           "enrich", "parse_labels"]

logger = logging.getLogger(__name__)

LABELS: Mapping[str, tuple[str, ...]] = {
    "emotion": ("positive", "negative", "neutral"),
    "topic": ("technical", "work", "health", "travel", "food", "personal", "other"),
    "interaction_quality": ("high", "medium", "low"),
}
"""Each enrichment key and its allowed labels (topics in tie-breaking order)."""


class Enricher(Protocol):
    """Labels a batch of memories: one dict of metadata to add per memory, in order."""

    async def aenrich(self, memories: Sequence[Memory]) -> list[dict[str, Any]]: ...


def as_enricher(value: object) -> Enricher | None:
    """``value`` (None included) if it can enrich; ConfigError saying what an enricher is."""
    if value is not None and not inspect.iscoroutinefunction(getattr(value, "aenrich", None)):
        raise ConfigError(f"enricher must have async aenrich(memories) -> list of dicts (e.g. "
                          f"HeuristicEnricher()), got {type(value).__name__}")
    return value  # type: ignore[return-value]


async def enrich(enricher: Enricher, memories: Sequence[Memory]) -> list[Memory]:
    """Copies of ``memories`` with the enricher's labels added under keys not already set."""
    found = await enricher.aenrich(memories)
    if not isinstance(found, list) or len(found) != len(memories):
        size = len(found) if isinstance(found, list) else type(found).__name__
        raise InvalidInput(f"{type(enricher).__name__}.aenrich returned {size} results for "
                           f"{len(memories)} memories: an Enricher returns a list with one "
                           f"dict per memory, in order")
    out = []
    for memory, labels in zip(memories, found):
        copy = memory.model_copy()
        try:
            copy.metadata = {**labels, **memory.metadata}
        except (TypeError, ValidationError) as exc:
            raise InvalidInput(f"{type(enricher).__name__} returned metadata that cannot be "
                               f"stored ({labels!r}): return a dict of JSON values") from exc
        out.append(copy)
    return out


# -- heuristic --------------------------------------------------------------------------------

_TOKEN = re.compile(r"[a-z]+(?:'[a-z]+)?|[.,;:!?]")
_NEGATORS = frozenset({"not", "no", "never", "nothing", "nobody", "hardly", "without", "cannot"})
_NEGATION_REACH = 3  # a negator flips the next three words of its clause: "not at all happy"

_POSITIVE = frozenset({
    "amazing", "awesome", "beautiful", "best", "delighted", "enjoy", "enjoyed", "excellent",
    "excited", "fantastic", "fun", "glad", "good", "great", "happy", "love", "loved", "lovely",
    "nice", "perfect", "pleased", "proud", "relieved", "thank", "thanks", "wonderful"})
_NEGATIVE = frozenset({
    "afraid", "angry", "annoyed", "annoying", "anxious", "awful", "bad", "broken", "depressed",
    "disappointed", "disappointing", "fail", "failed", "frustrated", "frustrating", "hate",
    "hated", "horrible", "hurt", "lonely", "sad", "scared", "sick", "stressed", "terrible",
    "tired", "unhappy", "upset", "worried", "worse", "worst"})

_TOPICS: Mapping[str, frozenset[str]] = {
    "technical": frozenset({
        "algorithm", "api", "app", "bug", "code", "compile", "compiler", "computer", "database",
        "debug", "deploy", "docker", "error", "exception", "function", "git", "install",
        "javascript", "keyerror", "kubernetes", "laptop", "linux", "network", "postgres",
        "programming", "python", "query", "script", "server", "software", "sql", "typescript"}),
    "work": frozenset({
        "boss", "career", "client", "colleague", "coworker", "customer", "deadline", "hired",
        "interview", "job", "manager", "meeting", "office", "project", "promotion",
        "quarterly", "salary", "team", "work"}),
    "health": frozenset({
        "allergic", "allergy", "dentist", "diet", "doctor", "exercise", "fever", "flu", "gym",
        "headache", "health", "hospital", "ill", "medication", "medicine", "pain", "sleep",
        "symptom", "therapy", "workout"}),
    "travel": frozenset({
        "abroad", "airport", "beach", "booking", "flight", "holiday", "hotel", "itinerary",
        "luggage", "passport", "tour", "train", "travel", "trip", "vacation", "visa"}),
    "food": frozenset({
        "bake", "baker", "bakery", "breakfast", "coffee", "cook", "cooking", "dinner", "dish",
        "eat", "eating", "food", "hungry", "lunch", "meal", "pizza", "recipe", "restaurant",
        "snack", "tea", "vegan", "vegetarian"}),
    "personal": frozenset({
        "birthday", "brother", "cat", "children", "dad", "daughter", "dog", "family", "father",
        "friend", "hobby", "home", "husband", "kid", "mom", "mother", "partner", "pet",
        "sister", "son", "wedding", "wife"}),
}

_GRATEFUL = frozenset({"appreciate", "appreciated", "fixed", "helpful", "perfect", "solved",
                       "thank", "thanks", "thx", "working", "works", "worked"})
_COMPLAINT = frozenset({"annoying", "awful", "broken", "frustrated", "frustrating", "pointless",
                        "ridiculous", "terrible", "unhelpful", "useless", "wrong"})


def _tokens(text: str) -> list[str]:
    """Lower-case words and the punctuation that ends a clause."""
    return _TOKEN.findall(text.lower().replace("\u2019", "'"))


def _word_count(tokens: Sequence[str]) -> int:
    return sum(t[0].isalpha() for t in tokens)


def _in(word: str, vocabulary: frozenset[str]) -> bool:
    """``word`` or its singular (a trailing ``s`` dropped) is in ``vocabulary``."""
    return word in vocabulary or (word.endswith("s") and word[:-1] in vocabulary)


def _negated(tokens: Sequence[str], i: int) -> bool:
    """A negator stands up to three words before ``tokens[i]`` in its clause."""
    for token in reversed(tokens[max(0, i - _NEGATION_REACH):i]):
        if not token[0].isalpha():
            return False
        if token in _NEGATORS or token.endswith("n't"):
            return True
    return False


def _polar(tokens: Sequence[str], good: frozenset[str], bad: frozenset[str]) -> tuple[int, int]:
    """(good, bad) word counts, a negated word counting for the other side ("not happy")."""
    counts = [0, 0]
    for i, token in enumerate(tokens):
        if _in(token, good) or _in(token, bad):
            counts[_in(token, bad) != _negated(tokens, i)] += 1
    return counts[0], counts[1]


class HeuristicEnricher:
    """The no-model enricher: emotion, topic and interaction quality from word lists.

    - ``emotion``: positive / negative / neutral by the count of positive against negative
      words; a negator (``not``, ``never``, any ``n't`` ...) up to three words before a word,
      in the same clause, moves it to the other side ("not happy" is negative). A tie is
      neutral.
    - ``topic``: the taxonomy of :data:`LABELS` by keyword hits (singular or plural):
      technical (code, bugs, servers), work (jobs, meetings, clients), health, travel,
      food, personal (family, friends, pets, home); ties go to the earlier topic, no hit
      is ``other``.
    - ``interaction_quality``: points for thanks or "it works" (+2), a question followed by
      an answer of five words or more (+1) and substance (twelve words or more, +1);
      against complaints ("useless", "wrong", "not helpful", "not working": -2) and very
      short text (under four words, -1). Two points or more is high, below zero low, else
      medium.
    """

    def labels(self, text: str) -> dict[str, str]:
        """The three labels of one text."""
        tokens = _tokens(text)
        return {"emotion": self._emotion(tokens), "topic": self._topic(tokens),
                "interaction_quality": self._quality(tokens)}

    async def aenrich(self, memories: Sequence[Memory]) -> list[dict[str, Any]]:
        """The labels of each memory's content."""
        return [self.labels(m.content) for m in memories]

    @staticmethod
    def _emotion(tokens: Sequence[str]) -> str:
        good, bad = _polar(tokens, _POSITIVE, _NEGATIVE)
        return "positive" if good > bad else "negative" if bad > good else "neutral"

    @staticmethod
    def _topic(tokens: Sequence[str]) -> str:
        hits = {topic: sum(_in(t, vocabulary) for t in tokens)
                for topic, vocabulary in _TOPICS.items()}
        best = max(hits, key=lambda topic: hits[topic])  # the first of equals
        return best if hits[best] else "other"

    @staticmethod
    def _quality(tokens: Sequence[str]) -> str:
        grateful, complaints = _polar(tokens, _GRATEFUL, _COMPLAINT)
        words = _word_count(tokens)
        last_question = max((i for i, t in enumerate(tokens) if t == "?"), default=None)
        answer = 0 if last_question is None else _word_count(tokens[last_question + 1:])
        score = (2 * (grateful > 0) + (answer >= 5) + (words >= 12)
                 - 2 * (complaints > 0) - (words < 4))
        return "high" if score >= 2 else "low" if score < 0 else "medium"


# -- LLM --------------------------------------------------------------------------------------

ENRICH_PROMPT = """\
Label the memory below. Reply with one JSON object and nothing else, with exactly these \
keys and one of the listed values each:
"emotion": {emotion} (the feeling the text expresses);
"topic": {topic} (what it is mostly about);
"interaction_quality": {interaction_quality} (high: useful, answered or thanked; \
low: complaints or no real exchange).

Memory:
{text}
""".format(**{key: ", ".join(values) for key, values in LABELS.items()}, text="{text}")
"""The default LLMEnricher prompt; ``{text}`` is replaced by the memory's content."""

_OBJECT = re.compile(r"\{.*\}", re.DOTALL)


def parse_labels(answer: str) -> dict[str, str]:
    """The :data:`LABELS` in an LLM's answer; CompletionError naming what is wrong.

    The answer may wrap the JSON object in prose or a code fence; values are compared
    case-insensitively; keys outside :data:`LABELS` are ignored.
    """
    match = _OBJECT.search(answer)
    try:
        found = json.loads(match.group()) if match else None
    except json.JSONDecodeError:
        found = None
    if not isinstance(found, dict):
        raise CompletionError(f"the enrichment answer holds no JSON object: {answer[:200]!r}; "
                              f"the prompt must ask for one (see ENRICH_PROMPT), or give "
                              f"LLMEnricher a fallback=")
    labels = {}
    for key, allowed in LABELS.items():
        value = found.get(key)
        label = value.strip().lower() if isinstance(value, str) else None
        if label not in allowed:
            raise CompletionError(f"the enrichment answer gives {key}={value!r}: expected one "
                                  f"of {', '.join(allowed)}; the prompt must list them (see "
                                  f"ENRICH_PROMPT), or give LLMEnricher a fallback=")
        labels[key] = label
    return labels


class LLMEnricher:
    """Asks an LLM for the :data:`LABELS` of each memory, one call per memory.

    ``prompt`` has a ``{text}`` placeholder. Calls for a batch run concurrently,
    ``max_concurrency`` at a time. An answer that is not a JSON object with an allowed
    label for every key raises :class:`~agentmem.CompletionError`, and the write fails
    (nothing of the batch is stored). With ``fallback`` (say ``HeuristicEnricher()``) such a
    memory is labelled by the fallback instead and a warning is logged; errors of the
    model call itself (network, quota) always propagate.
    """

    def __init__(self, completion: Completion, prompt: str = ENRICH_PROMPT, *,
                 fallback: Enricher | None = None, max_concurrency: int = 4) -> None:
        if "{text}" not in prompt:
            raise InvalidInput("the enrichment prompt needs a {text} placeholder")
        if isinstance(max_concurrency, bool) or not isinstance(max_concurrency, int) \
                or max_concurrency < 1:
            raise InvalidInput(f"max_concurrency must be a positive int, got {max_concurrency!r}")
        self.completion = as_completion(completion, "LLMEnricher")
        self.prompt = prompt
        self.fallback = as_enricher(fallback)
        self.max_concurrency = max_concurrency

    async def aenrich(self, memories: Sequence[Memory]) -> list[dict[str, Any]]:
        """The labels the LLM gives each memory's content."""
        gate = asyncio.Semaphore(self.max_concurrency)

        async def one(memory: Memory) -> dict[str, Any]:
            async with gate:
                answer = await complete(self.completion,
                                        self.prompt.replace("{text}", memory.content))
            try:
                return dict(parse_labels(answer))
            except CompletionError as exc:
                if self.fallback is None:
                    raise
                logger.warning("LLMEnricher: %s; labelling memory %s with %s", exc, memory.id,
                               type(self.fallback).__name__)
                [labels] = await self.fallback.aenrich([memory])
                return labels

        tasks = [asyncio.ensure_future(one(m)) for m in memories]
        try:
            return list(await asyncio.gather(*tasks))
        finally:  # on a failure, the calls not yet made are not made
            for task in tasks:
                task.cancel()
