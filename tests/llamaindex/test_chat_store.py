"""AgentMemChatStore and AgentMemDBChatStore on real servers, in every mode."""

from __future__ import annotations

import uuid

import pytest
from llama_index.core.base.llms.types import (
    ChatMessage,
    ImageBlock,
    MessageRole,
    TextBlock,
    ThinkingBlock,
    ToolCallBlock,
)
from llama_index.core.memory import ChatMemoryBuffer, Memory
from llama_index.core.storage.chat_store.base_db import MessageStatus

from agentmem import HybridMemory, InvalidInput
from llamaindex_agentmem.chat_store import (
    ARCHIVE_SUFFIX,
    MESSAGE_KEY,
    AgentMemChatStore,
    AgentMemDBChatStore,
)
from tests.conftest import make_memory

ASYNC_METHODS = ["aset_messages", "aget_messages", "async_add_message", "adelete_messages",
                 "adelete_message", "adelete_last_message", "aget_keys"]


def key() -> str:
    return f"chat-{uuid.uuid4().hex[:10]}"


def msg(role: str, text: str, **kwargs: object) -> ChatMessage:
    return ChatMessage(role=role, content=text, additional_kwargs=dict(kwargs))


def texts(messages: list[ChatMessage] | None) -> list[str | None]:
    assert messages is not None
    return [m.content for m in messages]


def dumps(messages: list[ChatMessage]) -> list[dict[str, object]]:
    return [m.model_dump() for m in messages]


def every_kind_of_message() -> list[ChatMessage]:
    """Every role, multi-block content and nested additional_kwargs."""
    return [
        ChatMessage(role=MessageRole.SYSTEM, content="You are terse."),
        ChatMessage(role=MessageRole.DEVELOPER, content="Prefer metric units."),
        ChatMessage(role=MessageRole.USER, blocks=[
            TextBlock(text="What is in this picture? Also, I like tea."),
            ImageBlock(image=b"\x89PNG\r\n\x1a\nnot-really-a-png", image_mimetype="image/png"),
            ImageBlock(url="https://example.invalid/cat.png"),
        ], additional_kwargs={"client": {"ip": "10.0.0.1", "tags": ["a", "b"]}, "n": 3,
                              "ratio": 0.25, "flag": True, "nothing": None}),
        ChatMessage(role=MessageRole.ASSISTANT, blocks=[
            ThinkingBlock(content="The user wants a description.", num_tokens=6),
            TextBlock(text="Let me store that."),
            ToolCallBlock(tool_call_id="call_1", tool_name="remember",
                          tool_kwargs={"content": "likes tea", "importance": 0.8}),
        ], additional_kwargs={"tool_calls": [{"id": "call_1", "type": "function"}]}),
        ChatMessage(role=MessageRole.TOOL, content="Remembered: likes tea",
                    additional_kwargs={"tool_call_id": "call_1", "name": "remember"}),
        ChatMessage(role=MessageRole.FUNCTION, content="{\"ok\": true}",
                    additional_kwargs={"name": "legacy_fn"}),
        ChatMessage(role=MessageRole.CHATBOT, content="Hi from Cohere."),
        ChatMessage(role=MessageRole.MODEL, content="Hi from Gemini. Ünïcødé ✓ 中文"),
        ChatMessage(role=MessageRole.ASSISTANT, content=""),
    ]


# -- AgentMemChatStore: sync ---------------------------------------------------------------


def test_every_method_sync(li_memory: HybridMemory, agent_id: str) -> None:
    store = AgentMemChatStore(li_memory, agent_id=agent_id)
    k = key()
    assert store.get_messages(k) == []
    assert store.delete_messages(k) is None
    assert store.delete_message(k, 0) is None
    assert store.delete_last_message(k) is None

    store.set_messages(k, [msg("user", "one"), msg("assistant", "two")])
    store.add_message(k, msg("user", "three"))
    assert texts(store.get_messages(k)) == ["one", "two", "three"]
    store.add_message(k, msg("system", "zero"), idx=0)
    assert texts(store.get_messages(k)) == ["zero", "one", "two", "three"]
    assert store.get_keys() == [k]

    removed = store.delete_message(k, 1)
    assert removed is not None and removed.content == "one"
    assert store.delete_message(k, 3) is None
    removed = store.delete_message(k, -3)
    assert removed is not None and removed.content == "zero"
    assert texts(store.get_messages(k)) == ["two", "three"]
    last = store.delete_last_message(k)
    assert last is not None and last.content == "three" and last.role == MessageRole.USER
    assert texts(store.get_messages(k)) == ["two"]

    store.set_messages(k, [msg("user", "fresh")])
    assert texts(store.get_messages(k)) == ["fresh"]
    assert texts(store.delete_messages(k)) == ["fresh"]
    assert store.get_messages(k) == []
    assert store.get_keys() == []
    store.set_messages(k, [])
    assert store.get_messages(k) == [] and store.get_keys() == []


async def test_every_method_async(li_memory: HybridMemory, agent_id: str) -> None:
    store = AgentMemChatStore(li_memory, agent_id=agent_id)
    k = key()
    for name in ASYNC_METHODS:  # native twins, not BaseChatStore's to_thread fallbacks
        assert name in AgentMemChatStore.__dict__, name
    assert await store.aget_messages(k) == []
    assert await store.adelete_messages(k) is None
    assert await store.adelete_message(k, 0) is None
    assert await store.adelete_last_message(k) is None

    await store.aset_messages(k, [msg("user", "one"), msg("assistant", "two")])
    await store.async_add_message(k, msg("user", "three"))
    await store.async_add_message(k, msg("system", "zero"), idx=0)
    assert texts(await store.aget_messages(k)) == ["zero", "one", "two", "three"]
    assert await store.aget_keys() == [k]

    removed = await store.adelete_message(k, 1)
    assert removed is not None and removed.content == "one"
    assert await store.adelete_message(k, 9) is None
    last = await store.adelete_last_message(k)
    assert last is not None and last.content == "three"
    assert texts(await store.aget_messages(k)) == ["zero", "two"]
    assert texts(await store.adelete_messages(k)) == ["zero", "two"]
    assert await store.aget_messages(k) == []
    assert await store.aget_keys() == []


def test_keys_are_isolated(li_memory: HybridMemory, agent_id: str) -> None:
    store = AgentMemChatStore(li_memory, agent_id=agent_id)
    a, b = key(), key()
    store.set_messages(a, [msg("user", "in a")])
    store.add_message(b, msg("user", "in b"))
    assert texts(store.get_messages(a)) == ["in a"]
    assert texts(store.get_messages(b)) == ["in b"]
    assert store.get_keys() == [a, b]
    store.delete_last_message(a)
    store.set_messages(b, [msg("assistant", "b again")])
    assert store.get_messages(a) == []
    assert texts(store.get_messages(b)) == ["b again"]
    assert store.get_keys() == [b]
    # A second store of the same agent sees the same keys (they are persisted).
    assert AgentMemChatStore(li_memory, agent_id=agent_id).get_keys() == [b]


async def test_agents_are_isolated(li_memory: HybridMemory) -> None:
    one = AgentMemChatStore(li_memory, agent_id=f"agent-{uuid.uuid4().hex[:8]}")
    two = AgentMemChatStore(li_memory, agent_id=f"agent-{uuid.uuid4().hex[:8]}")
    k = key()
    one.set_messages(k, [msg("user", "secret of one")])
    await two.aset_messages(k, [msg("user", "secret of two")])
    assert texts(one.get_messages(k)) == ["secret of one"]
    assert texts(await two.aget_messages(k)) == ["secret of two"]
    assert two.delete_messages(k) is not None
    assert texts(one.get_messages(k)) == ["secret of one"]
    assert one.get_keys() == [k] and two.get_keys() == []


def test_round_trip_of_roles_blocks_and_kwargs(li_memory: HybridMemory, agent_id: str) -> None:
    store = AgentMemChatStore(li_memory, agent_id=agent_id)
    k, want = key(), every_kind_of_message()
    store.set_messages(k, want[:4])
    for m in want[4:]:
        store.add_message(k, m)
    got = store.get_messages(k)
    assert dumps(got) == dumps(want)
    assert [m.role for m in got] == [m.role for m in want]
    assert isinstance(got[3].blocks[2], ToolCallBlock)
    assert got[3].blocks[2].tool_kwargs == {"content": "likes tea", "importance": 0.8}
    assert got[2].additional_kwargs["client"] == {"ip": "10.0.0.1", "tags": ["a", "b"]}
    # The turn keeps the readable text and the full message.
    turns = li_memory.history(k, agent_id)
    assert [t.role for t in turns] == [m.role.value for m in want]
    assert turns[2].content == "What is in this picture? Also, I like tea."
    assert turns[3].extra[MESSAGE_KEY]["blocks"][2]["tool_name"] == "remember"


def test_turns_from_other_writers(li_memory: HybridMemory, agent_id: str) -> None:
    store = AgentMemChatStore(li_memory, agent_id=agent_id)
    k = key()
    li_memory.add_turn(k, agent_id, "user", "typed by hand")
    li_memory.add_turn(k, agent_id, "ai", "langchain-style role")
    li_memory.add_turn(k, agent_id, "tool", "42", extra={"tool_call_id": "call_9"})
    li_memory.add_turn(k, agent_id, "critic", "an unknown role")
    got = store.get_messages(k)
    assert [m.role for m in got] == [MessageRole.USER, MessageRole.ASSISTANT, MessageRole.TOOL,
                                     MessageRole.USER]
    assert texts(got) == ["typed by hand", "langchain-style role", "42", "an unknown role"]
    assert got[2].additional_kwargs == {"tool_call_id": "call_9"}
    assert got[3].additional_kwargs == {"role": "critic"}
    # Rewriting the session keeps turns it does not own exactly as they were.
    store.delete_message(k, 1)
    turns = li_memory.history(k, agent_id)
    assert [(t.role, t.content, t.extra) for t in turns] == [
        ("user", "typed by hand", {}), ("tool", "42", {"tool_call_id": "call_9"}),
        ("critic", "an unknown role", {})]


def test_invalid_input_writes_nothing(li_memory: HybridMemory, agent_id: str) -> None:
    store = AgentMemChatStore(li_memory, agent_id=agent_id)
    k = key()
    store.set_messages(k, [msg("user", "kept")])
    with pytest.raises(InvalidInput):
        store.set_messages(k, [msg("user", "fine"), msg("user", "bad", x=float("nan"))])
    with pytest.raises(InvalidInput):
        store.add_message(k, msg("user", "bad", x="nul\x00"))
    with pytest.raises(TypeError):
        store.add_message(k, "not a message")  # type: ignore[arg-type]
    assert texts(store.get_messages(k)) == ["kept"]
    for bad in ("", "  ", "x" + ARCHIVE_SUFFIX):
        with pytest.raises(InvalidInput):
            store.get_messages(bad)
    with pytest.raises(InvalidInput):
        AgentMemChatStore(li_memory, agent_id=" ")
    with pytest.raises(InvalidInput):
        AgentMemChatStore("not a memory", agent_id="a")  # type: ignore[arg-type]


def test_persists_after_reopening(mode: str, pg_url: str, chroma_url: str,
                                  agent_id: str) -> None:
    k, want = key(), every_kind_of_message()
    first = make_memory(mode, pg_url, chroma_url)
    try:
        AgentMemChatStore(first, agent_id=agent_id).set_messages(k, want)
    finally:
        first.close()
    second = make_memory(mode, pg_url, chroma_url)
    try:
        store = AgentMemChatStore(second, agent_id=agent_id)
        assert dumps(store.get_messages(k)) == dumps(want)
        assert store.get_keys() == [k]
        assert store.model_dump() == {"agent_id": agent_id, "class_name": "AgentMemChatStore"}
    finally:
        second.close()


def test_chat_memory_buffer_over_the_store(li_memory: HybridMemory, agent_id: str) -> None:
    """LlamaIndex's ChatMemoryBuffer keeps its history in agentmem."""
    store = AgentMemChatStore(li_memory, agent_id=agent_id)
    k = key()
    buffer = ChatMemoryBuffer.from_defaults(chat_store=store, chat_store_key=k, token_limit=50)
    buffer.put(msg("user", "My name is Ada."))
    buffer.put(msg("assistant", "Hello Ada."))
    again = ChatMemoryBuffer.from_defaults(chat_store=store, chat_store_key=k, token_limit=50)
    assert texts(again.get_all()) == ["My name is Ada.", "Hello Ada."]
    assert texts(again.get()) == ["My name is Ada.", "Hello Ada."]
    for i in range(20):  # the buffer trims what it returns, the store keeps everything
        again.put(msg("user", f"filler message number {i} with several words in it"))
    assert len(again.get()) < 22 == len(store.get_messages(k))
    again.reset()
    assert store.get_messages(k) == []


# -- AgentMemDBChatStore (the short-term queue of Memory) ----------------------------------


async def test_db_store_every_method(li_memory: HybridMemory, agent_id: str) -> None:
    store = AgentMemDBChatStore(li_memory, agent_id=agent_id)
    k = key()
    assert await store.get_messages(k) == [] and await store.count_messages(k) == 0
    await store.add_messages(k, [msg("user", f"m{i}") for i in range(5)])
    await store.add_message(k, msg("assistant", "m5"))
    assert await store.count_messages(k) == 6
    assert texts(await store.get_messages(k, limit=2, offset=1)) == ["m1", "m2"]

    archived = await store.archive_oldest_messages(k, 2)
    assert texts(archived) == ["m0", "m1"]
    assert texts(await store.get_messages(k)) == ["m2", "m3", "m4", "m5"]
    assert texts(await store.get_messages(k, status=MessageStatus.ARCHIVED)) == ["m0", "m1"]
    assert texts(await store.get_messages(k, status=None)) == [f"m{i}" for i in range(6)]
    assert await store.count_messages(k, status=None) == 6

    assert texts(await store.delete_oldest_messages(k, 1)) == ["m2"]
    removed = await store.delete_message(k, 0)  # position in the status=None list
    assert removed is not None and removed.content == "m0"
    removed = await store.delete_message(k, 2)
    assert removed is not None and removed.content == "m4"
    assert await store.delete_message(k, 9) is None
    assert texts(await store.get_messages(k, status=None)) == ["m1", "m3", "m5"]
    assert await store.get_keys() == [k]

    await store.delete_messages(k, status=MessageStatus.ACTIVE)
    assert texts(await store.get_messages(k, status=None)) == ["m1"]
    await store.set_messages(k, [msg("user", "new")])
    assert texts(await store.get_messages(k, status=None)) == ["new"]
    await store.set_messages(k, [msg("user", "old")], status=MessageStatus.ARCHIVED)
    assert await store.get_messages(k) == []
    assert texts(await store.get_messages(k, status=MessageStatus.ARCHIVED)) == ["old"]
    await store.delete_messages(k)
    assert await store.count_messages(k, status=None) == 0
    assert await store.get_keys() == []
    assert await store.archive_oldest_messages(k, 3) == []
    assert await store.delete_oldest_messages(k, 3) == []


async def test_db_store_round_trip_and_isolation(li_memory: HybridMemory, agent_id: str) -> None:
    store = AgentMemDBChatStore(li_memory, agent_id=agent_id)
    other = AgentMemDBChatStore(li_memory, agent_id=agent_id + "-other")
    a, b, want = key(), key(), every_kind_of_message()
    await store.add_messages(a, want)
    await store.add_message(b, msg("user", "in b"))
    await other.add_message(a, msg("user", "other agent"))
    await store.archive_oldest_messages(a, 3)
    assert dumps(await store.get_messages(a, status=None)) == dumps(want)
    assert texts(await store.get_messages(b)) == ["in b"]
    assert texts(await other.get_messages(a)) == ["other agent"]
    assert sorted(await store.get_keys()) == sorted([a, b])
    assert await other.get_keys() == [a]
    # The active queue is the plain session: the sync chat store and core see it too.
    assert dumps(AgentMemChatStore(li_memory, agent_id=agent_id).get_messages(a)) == \
        dumps(want[3:])
    with pytest.raises(InvalidInput):
        await store.add_message("k" * 250, msg("user", "key too long for the archive"))


async def test_memory_queue_persists_in_agentmem(mode: str, pg_url: str, chroma_url: str,
                                                 agent_id: str) -> None:
    """Memory's short-term queue lives in agentmem: flushed messages are archived there,
    and a new process sees the same active queue."""
    session = key()
    first = make_memory(mode, pg_url, chroma_url)
    try:
        memory = Memory.from_defaults(session_id=session, token_limit=60,
                                      chat_history_token_ratio=0.5, token_flush_size=20,
                                      chat_store=AgentMemDBChatStore(first, agent_id=agent_id))
        for i in range(6):
            await memory.aput(msg("user", f"question {i} about the weather in several words"))
            await memory.aput(msg("assistant", f"answer {i} about the weather in several words"))
        active = await memory.aget()
        archived = await memory.aget_all(status=MessageStatus.ARCHIVED)
        assert archived and 0 < len(active) < 12
        assert len(archived) + len(active) == 12
    finally:
        await first.aclose()
    second = make_memory(mode, pg_url, chroma_url)
    try:
        reopened = Memory.from_defaults(session_id=session, token_limit=60,
                                        chat_store=AgentMemDBChatStore(second, agent_id=agent_id))
        assert dumps(await reopened.aget()) == dumps(active)
        assert texts(await reopened.aget_all()) == [f"{r} {i} about the weather in several words"
                                                    for i in range(6)
                                                    for r in ("question", "answer")]
        await reopened.areset()
        assert await reopened.aget_all() == []
    finally:
        await second.aclose()
