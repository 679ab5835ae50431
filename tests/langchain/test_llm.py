"""LangChainCompletion: LangChain's fake chat models driving agentmem's fact extraction, on
real servers (no real LLM is called)."""

from __future__ import annotations

import pytest
from langchain_core.language_models import FakeListChatModel, FakeListLLM
from langchain_core.runnables import RunnableLambda

from agentmem import CompletionError, HybridMemory, InvalidInput, Memory, MemoryType
from agentmem.lifecycle import LLMFactExtractor
from langchain_agentmem import LangChainCompletion
from tests.langchain.conftest import new_agent


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
