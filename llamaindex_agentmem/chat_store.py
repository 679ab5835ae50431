"""LlamaIndex chat stores over agentmem's conversation log.

Two classes, one per LlamaIndex chat store interface, both scoped to one agent:

- :class:`AgentMemChatStore` is a ``BaseChatStore`` (``ChatMemoryBuffer``,
  ``ChatSummaryMemoryBuffer``, chat engines built on them);
- :class:`AgentMemDBChatStore` is an ``AsyncDBChatStore``, the short-term queue of
  ``llama_index.core.memory.Memory`` (``Memory.from_defaults(chat_store=...)``), with the
  queue's *active* / *archived* message status.

A chat key is an agentmem ``session_id``. Each ``ChatMessage`` becomes one
:class:`agentmem.ChatTurn`:

- ``role`` is the message role (``user``, ``assistant``, ``system``, ``tool``, ...);
- ``content`` is the message's text, for people reading the table;
- ``extra["li_message"]`` is the whole message as ``ChatMessage.model_dump(mode="json")``
  serialises it, so blocks (images, tool calls, thinking, ...) and ``additional_kwargs``
  come back exactly.

Turns written without ``li_message`` (by ``HybridMemory.add_turn`` or the LangChain
adapter) are read back as a plain text message of the closest role.

Chat keys are listed with ``HybridMemory.sessions`` (so sessions written by other writers,
such as the LangChain adapter, are listed too), and edits that drop or insert one message
replace the session with ``HybridMemory.replace_history``: one transaction in PostgreSQL;
in Chroma the new turns are written before the old are deleted.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from llama_index.core.base.llms.types import ChatMessage, MessageRole
from llama_index.core.storage.chat_store.base import BaseChatStore
from llama_index.core.storage.chat_store.base_db import AsyncDBChatStore, MessageStatus
from pydantic import PrivateAttr, ValidationError

from agentmem import ChatTurn, HybridMemory, InvalidInput
from agentmem.models import as_agent_id

__all__ = ["ARCHIVE_SUFFIX", "MESSAGE_KEY", "AgentMemChatStore",
           "AgentMemDBChatStore", "message_to_turn", "turn_to_message"]

MESSAGE_KEY = "li_message"  # the ChatTurn.extra key holding the serialised ChatMessage
ARCHIVE_SUFFIX = "::llamaindex-archived"  # AgentMemDBChatStore: archived messages of a key
_MAX_KEY = 256

# Roles other writers use (LangChain message types included), as LlamaIndex roles.
_ROLES: dict[str, MessageRole] = {
    **{r.value: r for r in MessageRole},
    "human": MessageRole.USER, "ai": MessageRole.ASSISTANT,
}


def _check_agent(memory: HybridMemory, agent_id: str) -> None:
    if not isinstance(memory, HybridMemory):
        raise InvalidInput(f"memory must be a HybridMemory, got {type(memory).__name__}")
    as_agent_id(agent_id)


def _check_key(key: str, max_len: int = _MAX_KEY) -> str:
    if not isinstance(key, str) or not key.strip():
        raise InvalidInput(f"a chat key must be a non-empty string, got {key!r}")
    if key.endswith(ARCHIVE_SUFFIX):
        raise InvalidInput(f"chat key {key!r} is reserved by llamaindex_agentmem")
    if len(key) > max_len or "\x00" in key:
        raise InvalidInput(f"a chat key must be at most {max_len} characters with no NUL byte")
    return key


def _non_finite(value: Any) -> bool:
    if isinstance(value, float):
        return not math.isfinite(value)
    if isinstance(value, dict):
        return any(_non_finite(v) for v in value.values())
    if isinstance(value, (list, tuple)):
        return any(_non_finite(v) for v in value)
    return False


def message_to_turn(message: ChatMessage, agent_id: str, session_id: str) -> ChatTurn:
    """One ``ChatMessage`` as a :class:`~agentmem.ChatTurn`, keeping every field.

    ``InvalidInput`` for what would not come back unchanged: NaN or infinite numbers
    (JSON would turn them into null), NUL characters, values JSON cannot hold.
    """
    if not isinstance(message, ChatMessage):
        raise TypeError(f"expected a LlamaIndex ChatMessage, got {type(message).__name__}")
    if _non_finite(message.model_dump()):
        raise InvalidInput(f"cannot store this {message.role.value} message: it holds a NaN "
                           "or infinite number, which JSON cannot keep")
    try:
        data = message.model_dump(mode="json")
        return ChatTurn(session_id=session_id, agent_id=agent_id,
                        role=MessageRole(message.role).value,
                        content=(message.content or "").replace("\x00", ""),
                        extra={MESSAGE_KEY: data})
    except (ValidationError, ValueError, TypeError) as exc:
        raise InvalidInput(f"cannot store this {message.role} message: {exc}") from exc


def turn_to_message(turn: ChatTurn) -> ChatMessage:
    """A stored turn as a ``ChatMessage``: exact when LlamaIndex wrote it, else by role."""
    stored = turn.extra.get(MESSAGE_KEY)
    if isinstance(stored, dict):
        return ChatMessage.model_validate(stored)
    # A turn some other writer added: rebuild its text under the closest role.
    role = _ROLES.get(turn.role.lower())
    kwargs: dict[str, Any] = {} if role is not None else {"role": turn.role}
    lc = turn.extra.get("lc_message")
    lc_data = lc.get("data") if isinstance(lc, dict) else None
    tool_call_id = turn.extra.get("tool_call_id") or (
        lc_data.get("tool_call_id") if isinstance(lc_data, dict) else None)
    if role is MessageRole.TOOL and isinstance(tool_call_id, str):
        kwargs["tool_call_id"] = tool_call_id
    return ChatMessage(role=role or MessageRole.USER, content=turn.content,
                       additional_kwargs=kwargs)


def _messages(turns: Sequence[ChatTurn]) -> list[ChatMessage]:
    return [turn_to_message(t) for t in turns]


def _keys(sessions: Sequence[str]) -> list[str]:
    """Chat keys among an agent's sessions (archive sessions of the DB store are not keys)."""
    return [s for s in sessions if not s.endswith(ARCHIVE_SUFFIX)]


def _copy(turn: ChatTurn, session_id: str) -> ChatTurn:
    return turn.model_copy(update={"session_id": session_id})


class AgentMemChatStore(BaseChatStore):
    """LlamaIndex chat store over agentmem: one chat key is one session of one agent.

    Keys of one store never see another agent's messages, and keys are isolated from each
    other. The ``memory`` is borrowed, not owned: close it yourself. Every method has a
    native async twin (no thread hop): ``aget_messages``, ``async_add_message``, ...

    ``delete_message`` / ``delete_last_message`` / ``add_message(..., idx=)`` replace the
    session's history in one step (``HybridMemory.replace_history``); ``get_keys`` lists the
    agent's sessions that hold messages, whoever wrote them.

    Example:
        .. code-block:: python

            store = AgentMemChatStore(memory, agent_id="bot")
            buffer = ChatMemoryBuffer.from_defaults(chat_store=store, chat_store_key="user-1")
    """

    agent_id: str
    _memory: HybridMemory = PrivateAttr()

    def __init__(self, memory: HybridMemory, *, agent_id: str) -> None:
        _check_agent(memory, agent_id)
        super().__init__(agent_id=agent_id)  # type: ignore[call-arg]  # a field of ours
        self._memory = memory

    @classmethod
    def class_name(cls) -> str:
        return "AgentMemChatStore"

    @property
    def memory(self) -> HybridMemory:
        return self._memory

    def __repr__(self) -> str:
        return f"AgentMemChatStore(agent_id={self.agent_id!r}, mode={self._memory.mode!r})"

    def _turns(self, key: str, messages: Sequence[ChatMessage]) -> list[ChatTurn]:
        return [message_to_turn(m, self.agent_id, key) for m in messages]

    # -- sync -------------------------------------------------------------------------------

    def set_messages(self, key: str, messages: list[ChatMessage]) -> None:
        """Replace the messages of ``key`` in one step."""
        self._memory.replace_history(key, self.agent_id, self._turns(_check_key(key), messages))

    def get_messages(self, key: str) -> list[ChatMessage]:
        """Every message of ``key``, oldest first ([] for an unknown key)."""
        return _messages(self._memory.history(_check_key(key), self.agent_id))

    def add_message(self, key: str, message: ChatMessage, idx: int | None = None) -> None:
        """Append ``message`` (or insert it at ``idx``, by rewriting the session)."""
        turn = message_to_turn(message, self.agent_id, _check_key(key))
        if idx is None:
            self._memory.add_turns([turn])
            return
        turns = self._memory.history(key, self.agent_id)
        turns.insert(idx, turn)
        self._rewrite(key, turns)

    def _rewrite(self, key: str, turns: list[ChatTurn]) -> None:
        self._memory.replace_history(key, self.agent_id, turns)

    def delete_messages(self, key: str) -> list[ChatMessage] | None:
        """Delete every message of ``key``; returns them (None when there were none)."""
        turns = self._memory.history(_check_key(key), self.agent_id)
        if not turns:
            return None
        self._memory.clear_history(key, self.agent_id)
        return _messages(turns)

    def delete_message(self, key: str, idx: int) -> ChatMessage | None:
        """Delete the message at ``idx`` (list indexing, negatives too); None if out of range."""
        turns = self._memory.history(_check_key(key), self.agent_id)
        if not -len(turns) <= idx < len(turns):
            return None
        removed = turns.pop(idx)
        self._rewrite(key, turns)
        return turn_to_message(removed)

    def delete_last_message(self, key: str) -> ChatMessage | None:
        """Delete the newest message of ``key``; None when it has none."""
        return self.delete_message(key, -1)

    def get_keys(self) -> list[str]:
        """The agent's sessions that hold messages, first started first."""
        return _keys(self._memory.sessions(self.agent_id))

    # -- async ------------------------------------------------------------------------------

    async def aset_messages(self, key: str, messages: list[ChatMessage]) -> None:
        await self._memory.areplace_history(key, self.agent_id,
                                            self._turns(_check_key(key), messages))

    async def aget_messages(self, key: str) -> list[ChatMessage]:
        return _messages(await self._memory.ahistory(_check_key(key), self.agent_id))

    async def async_add_message(self, key: str, message: ChatMessage,
                                idx: int | None = None) -> None:
        turn = message_to_turn(message, self.agent_id, _check_key(key))
        if idx is None:
            await self._memory.aadd_turns([turn])
            return
        turns = await self._memory.ahistory(key, self.agent_id)
        turns.insert(idx, turn)
        await self._arewrite(key, turns)

    async def _arewrite(self, key: str, turns: list[ChatTurn]) -> None:
        await self._memory.areplace_history(key, self.agent_id, turns)

    async def adelete_messages(self, key: str) -> list[ChatMessage] | None:
        turns = await self._memory.ahistory(_check_key(key), self.agent_id)
        if not turns:
            return None
        await self._memory.aclear_history(key, self.agent_id)
        return _messages(turns)

    async def adelete_message(self, key: str, idx: int) -> ChatMessage | None:
        turns = await self._memory.ahistory(_check_key(key), self.agent_id)
        if not -len(turns) <= idx < len(turns):
            return None
        removed = turns.pop(idx)
        await self._arewrite(key, turns)
        return turn_to_message(removed)

    async def adelete_last_message(self, key: str) -> ChatMessage | None:
        return await self.adelete_message(key, -1)

    async def aget_keys(self) -> list[str]:
        return _keys(await self._memory.asessions(self.agent_id))


class AgentMemDBChatStore(AsyncDBChatStore):
    """The short-term queue of LlamaIndex's ``Memory``, kept in agentmem.

    ``Memory.from_defaults(session_id=..., chat_store=AgentMemDBChatStore(memory,
    agent_id=...))`` keeps the conversation of each ``session_id`` in agentmem instead of
    an in-process SQLite database, so it survives restarts. Active messages are the turns
    of the session itself (what ``HybridMemory.history`` and the LangChain adapter see);
    archived ones, flushed out of the queue into memory blocks, are moved to the session
    ``key + ARCHIVE_SUFFIX``. ``status=None`` means both, archived first.

    ``archive_oldest_messages``, ``delete_oldest_messages`` and ``delete_message`` replace
    the active session in one step (``HybridMemory.replace_history``); when archiving, the
    archived copy is written first, so a failure can duplicate a message but not drop it.
    ``idx`` of ``delete_message`` is a position in the ``status=None`` list (turns have no
    row id). ``get_keys`` lists the keys that hold active or archived messages.
    """

    agent_id: str
    _memory: HybridMemory = PrivateAttr()

    def __init__(self, memory: HybridMemory, *, agent_id: str) -> None:
        _check_agent(memory, agent_id)
        super().__init__(agent_id=agent_id)  # type: ignore[call-arg]  # a field of ours
        self._memory = memory

    @classmethod
    def class_name(cls) -> str:
        return "AgentMemDBChatStore"

    @property
    def memory(self) -> HybridMemory:
        return self._memory

    def __repr__(self) -> str:
        return f"AgentMemDBChatStore(agent_id={self.agent_id!r}, mode={self._memory.mode!r})"

    @staticmethod
    def _key(key: str) -> str:
        return _check_key(key, _MAX_KEY - len(ARCHIVE_SUFFIX))

    @staticmethod
    def _session(key: str, status: MessageStatus) -> str:
        return key + ARCHIVE_SUFFIX if MessageStatus(status) is MessageStatus.ARCHIVED else key

    async def _read(self, key: str, status: MessageStatus | None) -> list[ChatTurn]:
        if status is not None:
            return await self._memory.ahistory(self._session(key, status), self.agent_id)
        archived = await self._memory.ahistory(key + ARCHIVE_SUFFIX, self.agent_id)
        return archived + await self._memory.ahistory(key, self.agent_id)

    async def _append(self, key: str, messages: Sequence[ChatMessage],
                      status: MessageStatus) -> None:
        session = self._session(key, status)
        turns = [message_to_turn(m, self.agent_id, session) for m in messages]
        if turns:
            await self._memory.aadd_turns(turns)

    async def _set_active(self, key: str, turns: list[ChatTurn]) -> None:
        await self._memory.areplace_history(key, self.agent_id, turns)

    async def get_messages(self, key: str, status: MessageStatus | None = MessageStatus.ACTIVE,
                           limit: int | None = None, offset: int | None = None
                           ) -> list[ChatMessage]:
        turns = await self._read(self._key(key), status)
        start = offset or 0
        return _messages(turns[start:None if limit is None else start + limit])

    async def count_messages(self, key: str,
                             status: MessageStatus | None = MessageStatus.ACTIVE) -> int:
        return len(await self._read(self._key(key), status))

    async def add_message(self, key: str, message: ChatMessage,
                          status: MessageStatus = MessageStatus.ACTIVE) -> None:
        await self._append(self._key(key), [message], status)

    async def add_messages(self, key: str, messages: list[ChatMessage],
                           status: MessageStatus = MessageStatus.ACTIVE) -> None:
        await self._append(self._key(key), messages, status)

    async def set_messages(self, key: str, messages: list[ChatMessage],
                           status: MessageStatus = MessageStatus.ACTIVE) -> None:
        """Replace every message of ``key`` (both statuses) by ``messages`` with ``status``."""
        key = self._key(key)
        for m in messages:  # refuse bad input before anything is deleted
            message_to_turn(m, self.agent_id, key)
        await self.delete_messages(key)
        await self._append(key, messages, status)

    async def delete_message(self, key: str, idx: int) -> ChatMessage | None:
        """Delete the message at position ``idx`` of the ``status=None`` list; None if absent."""
        key = self._key(key)
        archived = await self._memory.ahistory(key + ARCHIVE_SUFFIX, self.agent_id)
        active = await self._memory.ahistory(key, self.agent_id)
        if not 0 <= idx < len(archived) + len(active):
            return None
        if idx < len(archived):
            removed = archived.pop(idx)
            await self._memory.areplace_history(key + ARCHIVE_SUFFIX, self.agent_id, archived)
        else:
            removed = active.pop(idx - len(archived))
            await self._set_active(key, active)
        return turn_to_message(removed)

    async def delete_messages(self, key: str, status: MessageStatus | None = None) -> None:
        key = self._key(key)
        statuses = list(MessageStatus) if status is None else [MessageStatus(status)]
        for s in statuses:
            await self._memory.aclear_history(self._session(key, s), self.agent_id)

    async def delete_oldest_messages(self, key: str, n: int) -> list[ChatMessage]:
        """Delete the oldest ``n`` active messages and return them."""
        key = self._key(key)
        active = await self._memory.ahistory(key, self.agent_id)
        if n <= 0 or not active:
            return []
        await self._set_active(key, active[n:])
        return _messages(active[:n])

    async def archive_oldest_messages(self, key: str, n: int) -> list[ChatMessage]:
        """Move the oldest ``n`` active messages to the archive and return them."""
        key = self._key(key)
        active = await self._memory.ahistory(key, self.agent_id)
        if n <= 0 or not active:
            return []
        moved = active[:n]
        await self._memory.aadd_turns([_copy(t, key + ARCHIVE_SUFFIX) for t in moved])
        await self._set_active(key, active[n:])
        return _messages(moved)

    async def get_keys(self) -> list[str]:
        """Keys that hold active or archived messages, first started first."""
        sessions = await self._memory.asessions(self.agent_id)
        return list(dict.fromkeys(s.removesuffix(ARCHIVE_SUFFIX) for s in sessions))
