"""LangChainCompletion: LangChain's fake chat models driving agentmem's enricher and fact
extraction, on real servers (no real LLM is called)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from langchain_core.language_models import FakeListChatModel, FakeListLLM, GenericFakeChatModel
from langchain_core.messages import AIMessage
from langchain_core.runnables import RunnableLambda

from agentmem import CompletionError, HybridMemory, InvalidInput, Memory, MemoryType
from agentmem.lifecycle import LLMEnricher, LLMFactExtractor
from langchain_agentmem import LangChainCompletion
from tests.conftest import make_memory
from tests.langchain.conftest import new_agent

LABELLED = '{"emotion": "positive", "topic": "travel", "interaction_quality": "high"}'


@pytest.fixture
def enriched(pg_url: str, chroma_url: str) -> Iterator[HybridMemory]:
    """A hybrid memory whose writes are labelled by a fake chat model."""
    model = GenericFakeChatModel(messages=iter([
        AIMessage(content=f"Here you go:\n```json\n{LABELLED}\n```"),
        AIMessage(content=[{"type": "text", "text": "not"}, {"type": "text", "text": " JSON"}]),
    ]))
    memory: HybridMemory = make_memory("hybrid", pg_url, chroma_url,
                                       enricher=LLMEnricher(LangChainCompletion(model)))
    yield memory
    memory.close()


def test_a_chat_model_labels_writes_through_the_bridge(enriched: HybridMemory) -> None:
    agent = new_agent()
    stored = enriched.remember("We loved the hotel in Kyoto.", agent)
    assert stored.metadata == {"emotion": "positive", "topic": "travel",
                               "interaction_quality": "high"}
    hits = enriched.recall("Kyoto hotel", agent, filter={"topic": "travel"})
    assert [h.memory.id for h in hits] == [stored.id]
    # the second answer's text blocks join to "not JSON": the write fails, nothing is stored
    with pytest.raises(CompletionError, match="'not JSON'"):
        enriched.remember("Another memory.", agent)
    assert enriched.memories(agent) == [stored]


async def test_facts_from_a_fake_chat_model_become_semantic_memories(
        lc_memory: HybridMemory) -> None:
    agent = new_agent()
    model = FakeListChatModel(responses=["- The user lives in Porto.\n2. The user owns a dog "
                                         "named Rex.\nNONE"])
    turns = [("user", "I moved to Porto with Rex, my dog."), ("assistant", "Welcome!")]
    facts = await LLMFactExtractor(LangChainCompletion(model))(turns)
    assert facts == ["The user lives in Porto.", "The user owns a dog named Rex."]
    await lc_memory.aremember_many([Memory(content=f, agent_id=agent,
                                           memory_type=MemoryType.SEMANTIC) for f in facts])
    hits = await lc_memory.arecall("What is the dog called?", agent, memory_types="semantic",
                                   k=1)
    assert hits[0].memory.content == "The user owns a dog named Rex."


async def test_strings_pass_through_and_other_answers_are_refused() -> None:
    assert await LangChainCompletion(FakeListLLM(responses=["plain text"])).acomplete("hi") \
        == "plain text"
    echo = LangChainCompletion(RunnableLambda(lambda prompt: f"echo {prompt}"))
    assert await echo.acomplete("hi") == "echo hi"
    with pytest.raises(CompletionError, match="answered with dict"):
        await LangChainCompletion(RunnableLambda(lambda prompt: {"a": 1})).acomplete("hi")
    with pytest.raises(InvalidInput, match="Runnable"):
        LangChainCompletion(lambda prompt: prompt)
