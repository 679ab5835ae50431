"""Real LlamaIndex chat engines and agents with memory kept in agentmem (offline LLMs).

Each scenario runs two "processes": the first talks and closes its ``HybridMemory``; the
second opens a new one on the same servers and must see what the first one learnt.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from typing import Any

import pytest
from llama_index.core import Document, VectorStoreIndex
from llama_index.core.agent.workflow import FunctionAgent
from llama_index.core.base.llms.types import (
    ChatMessage,
    ChatResponse,
    CompletionResponse,
    MessageRole,
    ToolCallBlock,
)
from llama_index.core.chat_engine import CondensePlusContextChatEngine, SimpleChatEngine
from llama_index.core.llms.callbacks import llm_chat_callback, llm_completion_callback
from llama_index.core.llms.mock import MockFunctionCallingLLM, MockLLM
from llama_index.core.memory import ChatMemoryBuffer, Memory
from llama_index.core.tools import FunctionTool
from pydantic import Field

from agentmem import HashingEmbedder, HybridMemory
from llamaindex_agentmem.chat_store import AgentMemChatStore, AgentMemDBChatStore
from llamaindex_agentmem.embeddings import AgentMemEmbedding
from llamaindex_agentmem.memory_blocks import EpisodicMemoryBlock, SemanticMemoryBlock
from tests.conftest import DIM, make_memory


def scripted_reply(prompt: str) -> str:
    """What the offline LLM answers: condensing, fact extraction, or a plain ``ok``."""
    if "Standalone question:" in prompt:
        return prompt.split("Follow Up Input:")[-1].split("\n")[0].strip()
    if "one fact per line" in prompt:
        return "- The user's cat is called Miso." if "Miso" in prompt else "NONE"
    return "ok"


class RecordingLLM(MockLLM):
    """A MockLLM that records every chat and prompt it is sent; answers with ``scripted_reply``."""

    chats: list[list[ChatMessage]] = Field(default_factory=list)
    prompts: list[str] = Field(default_factory=list)

    @llm_chat_callback()
    def chat(self, messages: Sequence[ChatMessage], **kwargs: Any) -> ChatResponse:
        self.chats.append([m.model_copy(deep=True) for m in messages])
        response: ChatResponse = super().chat(messages, **kwargs)
        return response

    @llm_completion_callback()
    def complete(self, prompt: str, formatted: bool = False, **kwargs: Any) -> CompletionResponse:
        self.prompts.append(prompt)
        return CompletionResponse(text=scripted_reply(prompt))


def text_of(messages: Sequence[ChatMessage]) -> str:
    return "\n".join(m.content or "" for m in messages)


def small_memory(session_id: str, memory: HybridMemory, agent_id: str, **blocks: Any) -> Memory:
    """A Memory that flushes after a couple of exchanges, kept entirely in agentmem."""
    return Memory.from_defaults(
        session_id=session_id, token_limit=160, chat_history_token_ratio=0.3,
        token_flush_size=40, chat_store=AgentMemDBChatStore(memory, agent_id=agent_id),
        memory_blocks=[SemanticMemoryBlock(memory=memory, agent_id=agent_id, **blocks),
                       EpisodicMemoryBlock(memory=memory, agent_id=agent_id)])


FILLER = ["Tell me something about the weather in spring in general terms please.",
          "And now something about autumn, also in rather general terms please.",
          "One more about winter, in general terms, if you do not mind at all."]


def test_simple_chat_engine_remembers_across_processes(mode: str, pg_url: str,
                                                       chroma_url: str, agent_id: str) -> None:
    first = make_memory(mode, pg_url, chroma_url)
    try:
        llm = RecordingLLM(max_tokens=None)
        engine = SimpleChatEngine.from_defaults(
            llm=llm, system_prompt="You are a helpful assistant.",
            memory=small_memory("session-1", first, agent_id))
        engine.chat("I live in Lisbon and my cat is called Miso.")
        for text in FILLER:
            engine.chat(text)
        users = [m.content for m in llm.chats[-1] if m.role == MessageRole.USER]
        assert "I live in Lisbon and my cat is called Miso." not in users  # flushed
    finally:
        first.close()

    second = make_memory(mode, pg_url, chroma_url)
    try:
        llm = RecordingLLM(max_tokens=None)
        engine = SimpleChatEngine.from_defaults(
            llm=llm, system_prompt="You are a helpful assistant.",
            memory=small_memory("session-2", second, agent_id))
        engine.chat("What is my cat called?")
        prompt = llm.chats[-1]
        users = [m.content for m in prompt if m.role == MessageRole.USER]
        assert users == ["What is my cat called?"]  # a new session: no old turns
        system = text_of([m for m in prompt if m.role == MessageRole.SYSTEM])
        assert "<SemanticMemory>" in system
        assert "The user said: I live in Lisbon and my cat is called Miso." in system
        assert "You are a helpful assistant." in system

        # Session 1 resumes where it stopped: its short-term queue is in agentmem too.
        resumed = SimpleChatEngine.from_defaults(
            llm=llm, memory=small_memory("session-1", second, agent_id))
        resumed.chat("Thanks, that is all.")
        assert FILLER[-1] in text_of(llm.chats[-1])
        assert agent_id not in [m.agent_id for m in second.memories(agent_id + "-x")]
    finally:
        second.close()


async def test_condense_plus_context_engine_remembers(mode: str, pg_url: str,
                                                      chroma_url: str, agent_id: str) -> None:
    """Retrieval context from an index and long-term facts from agentmem in one prompt.

    The index embeds with ``AgentMemEmbedding`` (agentmem's embedder seen by LlamaIndex);
    facts are extracted by the LLM (``SemanticMemoryBlock(llm=...)``).
    """
    documents = [Document(text="Cats need fresh water every day and a clean litter box."),
                 Document(text="Lisbon has seven hills and yellow trams."),
                 Document(text="Rust has a borrow checker.")]
    index = VectorStoreIndex.from_documents(documents,
                                            embed_model=AgentMemEmbedding(HashingEmbedder(DIM)))

    def engine(memory: HybridMemory, session: str, llm: RecordingLLM) -> CondensePlusContextChatEngine:
        return CondensePlusContextChatEngine.from_defaults(
            retriever=index.as_retriever(similarity_top_k=1), llm=llm,
            memory=small_memory(session, memory, agent_id, llm=llm))

    first = make_memory(mode, pg_url, chroma_url)
    try:
        llm = RecordingLLM(max_tokens=None)
        chat = engine(first, "c-1", llm)
        await chat.achat("My cat is called Miso and she is three years old.")
        for text in FILLER:
            await chat.achat(text)
        facts = await first.amemories(agent_id, memory_types="semantic")
        assert [f.content for f in facts] == ["The user's cat is called Miso."]
    finally:
        await first.aclose()

    second = make_memory(mode, pg_url, chroma_url)
    try:
        llm = RecordingLLM(max_tokens=None)
        response = await engine(second, "c-2", llm).achat("What does my cat need every day?")
        assert "fresh water" in response.source_nodes[0].node.get_content()
        prompt = llm.prompts[-1]  # the answer: a completion model is sent one prompt
        assert "The user's cat is called Miso." in prompt  # long-term memory
        assert "Cats need fresh water every day" in prompt  # retrieved context
        assert "What does my cat need every day?" in prompt
    finally:
        await second.aclose()


def test_chat_memory_buffer_engine_keeps_history(mode: str, pg_url: str, chroma_url: str,
                                                 agent_id: str) -> None:
    """The older ChatMemoryBuffer API, with its history in AgentMemChatStore."""
    first = make_memory(mode, pg_url, chroma_url)
    try:
        buffer = ChatMemoryBuffer.from_defaults(
            chat_store=AgentMemChatStore(first, agent_id=agent_id), chat_store_key="user-7")
        SimpleChatEngine.from_defaults(llm=RecordingLLM(max_tokens=None), memory=buffer).chat(
            "Please call me Captain.")
    finally:
        first.close()
    second = make_memory(mode, pg_url, chroma_url)
    try:
        llm = RecordingLLM(max_tokens=None)
        store = AgentMemChatStore(second, agent_id=agent_id)
        buffer = ChatMemoryBuffer.from_defaults(chat_store=store, chat_store_key="user-7")
        SimpleChatEngine.from_defaults(llm=llm, memory=buffer).chat("What do you call me?")
        assert [m.content for m in llm.chats[-1]] == [
            "Please call me Captain.", "ok", "What do you call me?"]
        assert store.get_keys() == ["user-7"]
    finally:
        second.close()


def memory_tools(memory: HybridMemory, agent_id: str) -> list[FunctionTool]:
    """remember / recall tools an agent can call, bound to one agent."""

    async def remember(content: str) -> str:
        """Store a fact about the user for later conversations."""
        stored = await memory.aremember(content, agent_id, memory_type="semantic")
        return f"Remembered: {stored.content}"

    async def recall(query: str) -> str:
        """Look up what is known about the user."""
        hits = await memory.arecall(query, agent_id, k=3)
        return "\n".join(h.memory.content for h in hits) or "Nothing found."

    return [FunctionTool.from_defaults(async_fn=remember),
            FunctionTool.from_defaults(async_fn=recall)]


class ScriptedAgentLLM:
    """A function-calling script: remember when told to, recall when asked, then answer."""

    def __init__(self) -> None:
        self.inputs: list[list[ChatMessage]] = []

    def __call__(self, messages: Sequence[ChatMessage], **kwargs: Any) -> ChatMessage:
        self.inputs.append([m.model_copy(deep=True) for m in messages])
        last = messages[-1]
        if last.role == MessageRole.TOOL:
            return ChatMessage(role="assistant", content=f"From memory: {last.content}")
        question = last.content or ""
        if question.startswith("Remember"):
            call = ToolCallBlock(tool_call_id=f"call-{uuid.uuid4().hex[:6]}", tool_name="remember",
                                 tool_kwargs={"content": "The user's favourite tea is sencha."})
        else:
            call = ToolCallBlock(tool_call_id=f"call-{uuid.uuid4().hex[:6]}", tool_name="recall",
                                 tool_kwargs=json.dumps({"query": question}))
        return ChatMessage(role="assistant", blocks=[call])


# FunctionAgent's workflow inspects its own pydantic members (upstream deprecation noise).
@pytest.mark.filterwarnings("ignore::DeprecationWarning:inspect")
async def test_function_agent_uses_agentmem(mode: str, pg_url: str, chroma_url: str,
                                            agent_id: str) -> None:
    first = make_memory(mode, pg_url, chroma_url)
    try:
        script = ScriptedAgentLLM()
        agent = FunctionAgent(tools=memory_tools(first, agent_id),  # type: ignore[arg-type]
                              llm=MockFunctionCallingLLM(response_generator=script),
                              system_prompt="You remember things for the user.")
        out = await agent.run("Remember that my favourite tea is sencha.",
                              memory=small_memory("agent-1", first, agent_id))
        assert "Remembered: The user's favourite tea is sencha." in str(out)
    finally:
        await first.aclose()

    second = make_memory(mode, pg_url, chroma_url)
    try:
        script = ScriptedAgentLLM()
        agent = FunctionAgent(tools=memory_tools(second, agent_id),  # type: ignore[arg-type]
                              llm=MockFunctionCallingLLM(response_generator=script),
                              system_prompt="You remember things for the user.")
        memory = small_memory("agent-2", second, agent_id)
        out = await agent.run("Which tea do I like?", memory=memory)
        assert "From memory: The user's favourite tea is sencha." in str(out)
        # Before any tool ran, the memory block had already put the fact in the prompt.
        first_call = script.inputs[0]
        assert "<SemanticMemory>" in text_of(first_call)
        assert "The user's favourite tea is sencha." in text_of(first_call)
        # The agent's turns are in the session's short-term queue, in agentmem.
        roles = [m.role for m in await memory.aget_all()]
        assert roles == [MessageRole.USER, MessageRole.ASSISTANT, MessageRole.TOOL,
                         MessageRole.ASSISTANT]
        other = SemanticMemoryBlock(memory=second, agent_id=agent_id + "-other")
        assert await other.aget([ChatMessage(role="user", content="Which tea do I like?")]) == ""
    finally:
        await second.aclose()
