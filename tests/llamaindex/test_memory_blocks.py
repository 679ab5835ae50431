"""The agentmem memory blocks, alone and inside LlamaIndex's Memory, in every mode."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

import pytest
from llama_index.core.base.llms.types import ChatMessage, ChatResponse, CompletionResponse
from llama_index.core.llms.callbacks import llm_chat_callback, llm_completion_callback
from llama_index.core.llms.mock import MockLLM
from llama_index.core.memory import Memory
from llama_index.core.memory.memory import BaseMemoryBlock
from llama_index.core.utils import get_tokenizer
from pydantic import Field, ValidationError

from agentmem import HybridMemory, MemoryType
from llamaindex_agentmem.memory_blocks import (
    EXTRACT_FACTS_PROMPT,
    EXTRACT_PROCEDURES_PROMPT,
    EpisodicMemoryBlock,
    HeuristicFactExtractor,
    LLMFactExtractor,
    ProceduralMemoryBlock,
    SemanticMemoryBlock,
)


class RecordingLLM(MockLLM):
    """Answers from a script (else echoes ``ok``) and records every prompt; no real LLM."""

    replies: list[str] = Field(default_factory=list)
    prompts: list[str] = Field(default_factory=list)
    chats: list[list[ChatMessage]] = Field(default_factory=list)

    @llm_chat_callback()
    def chat(self, messages: Sequence[ChatMessage], **kwargs: Any) -> ChatResponse:
        self.chats.append([m.model_copy(deep=True) for m in messages])
        response: ChatResponse = super().chat(messages, **kwargs)
        return response

    @llm_completion_callback()
    def complete(self, prompt: str, formatted: bool = False, **kwargs: Any) -> CompletionResponse:
        self.prompts.append(prompt)
        return CompletionResponse(text=self.replies.pop(0) if self.replies else "ok")


def user(text: str, session_id: str | None = None) -> ChatMessage:
    kwargs = {"session_id": session_id} if session_id else {}
    return ChatMessage(role="user", content=text, additional_kwargs=kwargs)


def assistant(text: str) -> ChatMessage:
    return ChatMessage(role="assistant", content=text)


def lines(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.startswith("- ")]


# -- episodic ------------------------------------------------------------------------------


async def test_episodic_stores_flushed_messages_and_recalls_them(
        li_memory: HybridMemory, agent_id: str) -> None:
    block = EpisodicMemoryBlock(memory=li_memory, agent_id=agent_id, show_dates=False)
    session = f"s-{uuid.uuid4().hex[:8]}"
    await block.aput([
        user("We fixed the KeyError in the billing script", session),
        assistant("Glad the billing script works now"),
        ChatMessage(role="system", content="not an episode"),
        ChatMessage(role="tool", content="tool output is not an episode"),
        ChatMessage(role="user", content=""),
        user("Then we planned a trip to Kyoto in April", session),
    ], from_short_term_memory=True, session_id=session)
    stored = li_memory.memories(agent_id, memory_types="episodic")
    assert sorted(m.content for m in stored) == sorted([
        "user: We fixed the KeyError in the billing script",
        "assistant: Glad the billing script works now",
        "user: Then we planned a trip to Kyoto in April"])
    assert {m.session_id for m in stored} == {session}
    assert {m.metadata["role"] for m in stored} == {"user", "assistant"}
    assert all(m.metadata["source"] == "llamaindex" for m in stored)

    text = await block.aget([user("What about the trip to Kyoto?")], session_id="another")
    assert lines(text)[0] == "- user: Then we planned a trip to Kyoto in April"
    assert len(lines(text)) == 3
    assert await block.aget([]) == ""
    assert await block.aget(None) == ""
    assert await block.aget([ChatMessage(role="system", content="only a system prompt")]) == ""


async def test_episodic_dates_session_scope_and_roles(li_memory: HybridMemory,
                                                      agent_id: str) -> None:
    block = EpisodicMemoryBlock(memory=li_memory, agent_id=agent_id, scope_to_session=True,
                                roles=["user"])
    await block.aput([user("My first session mentioned penguins", "s1"),
                      assistant("penguins are great")], session_id="s1")
    await block.aput([user("My second session mentioned penguins too", "s2")], session_id="s2")
    assert len(li_memory.memories(agent_id)) == 2  # the assistant message was not kept
    text = await block.aget([user("penguins")], session_id="s2")
    assert len(lines(text)) == 1 and "second session" in text
    assert text.startswith("- [20")  # dated episodes
    unscoped = EpisodicMemoryBlock(memory=li_memory, agent_id=agent_id)
    assert len(lines(await unscoped.aget([user("penguins")], session_id="s2"))) == 2


# -- semantic ------------------------------------------------------------------------------


def test_heuristic_extractor_keeps_first_person_statements() -> None:
    extract = HeuristicFactExtractor()
    facts = extract([
        user("Hi! I live in Lisbon. My daughter is allergic to nuts. Can you book a table?"),
        user("Thanks! Write me a poem about cats. I want you to be brief."),
        user("Please remember that the wifi password is hunter2."),
        user("Where do I live?"),
        user("ok"),
        user("We moved here in 2019 because of my job at the observatory!\nI'm a vegetarian\nI agree"),
        assistant("I am an assistant and my name is Bot."),
        user("I live in Lisbon."),
    ])
    assert facts == [
        "The user said: I live in Lisbon.",
        "The user said: My daughter is allergic to nuts.",
        "The user said: the wifi password is hunter2.",
        "The user said: We moved here in 2019 because of my job at the observatory!",
        "The user said: I'm a vegetarian",
    ]


async def test_semantic_block_default_extractor(li_memory: HybridMemory, agent_id: str) -> None:
    block = SemanticMemoryBlock(memory=li_memory, agent_id=agent_id, k=2)
    assert block.name == "SemanticMemory" and block.priority == 2
    flushed = [user("I live in Lisbon and I work as a baker.", "s1"),
               assistant("Nice, Lisbon has great bakeries."),
               user("What time is it?", "s1")]
    await block.aput(flushed, session_id="s1")
    await block.aput(flushed, session_id="s1")  # the same fact twice is stored once
    facts = li_memory.memories(agent_id, memory_types="semantic")
    assert [f.content for f in facts] == ["The user said: I live in Lisbon and I work as a baker."]
    assert facts[0].session_id == "s1" and facts[0].memory_type is MemoryType.SEMANTIC
    text = await block.aget([user("Where do I live?")], session_id="s2")
    assert text == "- The user said: I live in Lisbon and I work as a baker."
    # Facts are semantic memories only: an episode with the same words is not returned.
    li_memory.remember("user: I live in Lisbon", agent_id, memory_type="episodic")
    assert lines(await block.aget([user("Where do I live?")])) == lines(text)


async def test_semantic_block_with_an_llm(li_memory: HybridMemory, agent_id: str) -> None:
    llm = RecordingLLM(max_tokens=None)
    llm.replies = ["Facts:\n- The user lives in Porto.\n2. The user owns a dog named Rex.\n\nNONE"]
    block = SemanticMemoryBlock(memory=li_memory, agent_id=agent_id, llm=llm)
    await block.aput([user("I moved to Porto with Rex, my dog."), assistant("Welcome!")])
    prompt = llm.prompts[0]
    assert "one fact per line" in prompt
    assert "user: I moved to Porto with Rex, my dog.\nassistant: Welcome!" in prompt
    stored = sorted(m.content for m in li_memory.memories(agent_id))
    assert stored == ["Facts:", "The user lives in Porto.", "The user owns a dog named Rex."] or \
        stored == ["The user lives in Porto.", "The user owns a dog named Rex."]
    assert "The user owns a dog named Rex." in await block.aget([user("What is my dog called?")])
    # Nothing to say: no LLM call and nothing stored.
    await block.aput([ChatMessage(role="assistant", content="")])
    assert len(llm.prompts) == 1


async def test_custom_extractors_sync_and_async(li_memory: HybridMemory, agent_id: str) -> None:
    def upper(messages: Sequence[ChatMessage]) -> list[str]:
        return [f"FACT {m.content}" for m in messages if m.content]

    async def nothing(messages: Sequence[ChatMessage]) -> list[str]:
        return ["", "   "]

    await SemanticMemoryBlock(memory=li_memory, agent_id=agent_id, extractor=upper).aput(
        [user("alpha"), assistant("beta")])
    await SemanticMemoryBlock(memory=li_memory, agent_id=agent_id, extractor=nothing).aput(
        [user("gamma")])
    assert sorted(m.content for m in li_memory.memories(agent_id)) == ["FACT alpha", "FACT beta"]
    with pytest.raises(ValueError, match="placeholder"):
        LLMFactExtractor(RecordingLLM(max_tokens=None), prompt="no placeholder here")


async def test_user_scope(li_memory: HybridMemory, agent_id: str) -> None:
    ann = SemanticMemoryBlock(memory=li_memory, agent_id=agent_id, user_id="ann")
    bob = SemanticMemoryBlock(memory=li_memory, agent_id=agent_id, user_id="bob")
    await ann.aput([user("My favourite colour is green.")])
    await bob.aput([user("My favourite colour is green.")])  # same text, other user: kept
    assert {m.user_id for m in li_memory.memories(agent_id)} == {"ann", "bob"}
    li_memory.remember("The user's favourite colour is red.", agent_id, memory_type="semantic",
                       user_id="bob")
    assert "red" not in await ann.aget([user("favourite colour?")])
    assert "red" in await bob.aget([user("favourite colour?")])


# -- procedural ----------------------------------------------------------------------------


async def test_procedural_block_injects_relevant_procedures(li_memory: HybridMemory,
                                                            agent_id: str) -> None:
    for text in ["To deploy: run the tests, tag the release, then push the tag.",
                 "To brew tea: boil water, steep green tea for two minutes.",
                 "To file an expense: attach the receipt and email finance."]:
        li_memory.remember(text, agent_id, memory_type="procedural")
    li_memory.remember("The user likes to deploy on Fridays.", agent_id, memory_type="semantic")
    block = ProceduralMemoryBlock(memory=li_memory, agent_id=agent_id, k=1)
    assert block.priority == 3 and block.name == "ProceduralMemory"
    text = await block.aget([user("hello"), user("How do I deploy the release?")])
    assert text == "- To deploy: run the tests, tag the release, then push the tag."
    assert "tea" in await block.aget([user("how should I brew green tea")])
    # aput stores nothing unless configured.
    await block.aput([user("Always answer in French. I live in Paris.")])
    assert len(li_memory.memories(agent_id, memory_types="procedural")) == 3
    # min_score drops weak matches.
    strict = ProceduralMemoryBlock(memory=li_memory, agent_id=agent_id, min_score=0.99)
    assert await strict.aget([user("How do I deploy the release?")]) == ""


async def test_procedural_block_with_an_llm(li_memory: HybridMemory, agent_id: str) -> None:
    llm = RecordingLLM(max_tokens=None)
    llm.replies = ["1. Always answer in French.\n2. Sign every email with 'Best, Ann'."]
    block = ProceduralMemoryBlock(memory=li_memory, agent_id=agent_id, llm=llm)
    await block.aput([user("From now on answer in French and sign emails as Ann.")])
    [sent] = llm.prompts  # one completion: the prompt with the conversation filled in
    assert not llm.chats
    assert sent == EXTRACT_PROCEDURES_PROMPT.replace(
        "{conversation}", "user: From now on answer in French and sign emails as Ann.")
    stored = li_memory.memories(agent_id, memory_types="procedural")
    assert sorted(m.content for m in stored) == ["Always answer in French.",
                                                 "Sign every email with 'Best, Ann'."]
    assert EXTRACT_FACTS_PROMPT != EXTRACT_PROCEDURES_PROMPT


async def test_agents_and_types_are_isolated(li_memory: HybridMemory, agent_id: str) -> None:
    li_memory.remember("Deploy with make release", agent_id, memory_type="procedural")
    li_memory.remember("The user deploys with make", agent_id, memory_type="semantic")
    li_memory.remember("user: we talked about make release", agent_id)
    other = agent_id + "-b"
    query = [user("how do I deploy with make release")]
    for cls in (EpisodicMemoryBlock, SemanticMemoryBlock, ProceduralMemoryBlock):
        assert len(lines(await cls(memory=li_memory, agent_id=agent_id).aget(query))) == 1
        assert await cls(memory=li_memory, agent_id=other).aget(query) == ""
    with pytest.raises(ValidationError):
        SemanticMemoryBlock(memory=li_memory, agent_id="  ")
    with pytest.raises(ValidationError):
        SemanticMemoryBlock(memory=li_memory, agent_id=agent_id, k=0)


# -- token budgets -------------------------------------------------------------------------


async def test_token_budgets(li_memory: HybridMemory, agent_id: str) -> None:
    tokens = get_tokenizer()
    for i, colour in enumerate(["red", "green", "blue", "amber", "violet"]):
        li_memory.remember(f"Fact {i}: the user's {colour} bicycle is parked in the garage "
                           f"next to the old workbench and the winter tyres.", agent_id,
                           memory_type="semantic")
    full = await SemanticMemoryBlock(memory=li_memory, agent_id=agent_id).aget(
        [user("where is the red bicycle parked?")])
    assert len(lines(full)) == 5

    capped = SemanticMemoryBlock(memory=li_memory, agent_id=agent_id, max_tokens=45)
    text = await capped.aget([user("where is the red bicycle parked?")])
    assert 1 <= len(lines(text)) < 5 and len(tokens(text)) <= 45
    assert lines(text) == lines(full)[:len(lines(text))]  # the least relevant go first

    tiny = SemanticMemoryBlock(memory=li_memory, agent_id=agent_id, max_tokens=5)
    clipped = await tiny.aget([user("where is the red bicycle parked?")])
    assert clipped and len(tokens(clipped)) <= 5 and lines(full)[0].startswith(clipped)

    block = SemanticMemoryBlock(memory=li_memory, agent_id=agent_id)
    cut = await block.atruncate(full, 30)
    assert cut is not None and len(tokens(cut)) <= len(tokens(full)) - 30
    assert lines(cut) == lines(full)[:len(lines(cut))]
    assert await block.atruncate(full, 10_000) is None
    assert await block.atruncate("", 5) is None


async def test_memory_truncates_blocks_by_priority(li_memory: HybridMemory, agent_id: str) -> None:
    """Inside Memory, the lowest non-zero priority (episodic) is cut before the others."""
    for i in range(5):
        li_memory.remember(f"user: long ago we discussed the garden project, part {i}, at "
                           f"great length with many details", agent_id)
        li_memory.remember(f"The garden project fact {i} is that the beds are raised and "
                           f"watered on Mondays", agent_id, memory_type="semantic")
    li_memory.remember("To water the garden project: open valve two, wait ten minutes.",
                       agent_id, memory_type="procedural")
    blocks: list[BaseMemoryBlock[Any]] = [
        EpisodicMemoryBlock(memory=li_memory, agent_id=agent_id),
        SemanticMemoryBlock(memory=li_memory, agent_id=agent_id),
        ProceduralMemoryBlock(memory=li_memory, agent_id=agent_id)]
    roomy = Memory.from_defaults(session_id=f"s-{uuid.uuid4().hex[:6]}", token_limit=5000,
                                 memory_blocks=blocks)
    await roomy.aput(user("Tell me about the garden project"))
    full = (await roomy.aget())[0].content or ""
    assert full.count("- ") == 11
    tight = Memory.from_defaults(session_id=f"s-{uuid.uuid4().hex[:6]}", token_limit=150,
                                 memory_blocks=blocks)
    await tight.aput(user("Tell me about the garden project"))
    system = (await tight.aget())[0]
    text = system.content or ""
    assert system.role == "system"
    assert "<ProceduralMemory>" in text and "open valve two" in text
    assert text.count("The garden project fact") >= 1
    assert text.count("long ago we discussed") < 5


# -- inside Memory -------------------------------------------------------------------------


def test_blocks_inside_memory_sync(li_memory: HybridMemory, agent_id: str) -> None:
    """Flushed messages reach the blocks; the next get injects what they recall."""
    session = f"s-{uuid.uuid4().hex[:8]}"
    memory = Memory.from_defaults(
        session_id=session, token_limit=100, chat_history_token_ratio=0.3, token_flush_size=20,
        memory_blocks=[EpisodicMemoryBlock(memory=li_memory, agent_id=agent_id),
                       SemanticMemoryBlock(memory=li_memory, agent_id=agent_id)])
    memory.put(user("I keep my passport in the blue drawer of the desk."))
    memory.put(assistant("Noted, the blue drawer of the desk."))
    for i in range(4):
        memory.put(user(f"Small talk number {i} about nothing in particular at all."))
        memory.put(assistant(f"Reply number {i} about nothing in particular at all."))
    facts = li_memory.memories(agent_id, memory_types="semantic")
    assert [f.content for f in facts] == [
        "The user said: I keep my passport in the blue drawer of the desk."]
    assert facts[0].session_id == session
    assert len(li_memory.memories(agent_id, memory_types="episodic")) >= 2

    later = Memory.from_defaults(
        session_id=f"s-{uuid.uuid4().hex[:8]}",
        memory_blocks=[EpisodicMemoryBlock(memory=li_memory, agent_id=agent_id),
                       SemanticMemoryBlock(memory=li_memory, agent_id=agent_id)])
    got = later.get(input="Where is my passport?")
    system = got[0].content or ""
    assert got[0].role == "system"
    assert "<SemanticMemory>" in system and "blue drawer of the desk" in system
    assert "<EpisodicMemory>" in system
