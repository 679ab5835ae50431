"""LangChain chat message history over agentmem's conversation log.

Each LangChain message becomes one :class:`agentmem.ChatTurn` of ``(agent_id, session_id)``:

- ``role`` is the message type (``human``, ``ai``, ``system``, ``tool``, ``chat``, ...);
- ``content`` is the message's plain text, for people reading the table;
- ``extra["lc_message"]`` is the whole message as :func:`langchain_core.messages.message_to_dict`
  serialises it, so every field (``tool_calls``, ``usage_metadata``, ``tool_call_id``,
  ``additional_kwargs``, ``response_metadata``, ``id``, ``name``, list content blocks)
  comes back exactly.

Turns written without ``lc_message`` (by ``HybridMemory.add_turn`` or another framework) are
read back as the closest LangChain message for their role.
"""

from __future__ import annotations

from collections.abc import Sequence

from langchain_core.chat_history import BaseChatMessageHistory
from langchain_core.messages import (
    AIMessage,
    BaseMessage,
    ChatMessage,
    HumanMessage,
    SystemMessage,
    ToolMessage,
    message_to_dict,
    messages_from_dict,
)
from pydantic import ValidationError

from agentmem import ChatTurn, HybridMemory, InvalidInput
from agentmem.models import as_agent_id, as_name

__all__ = ["AgentMemChatMessageHistory"]

MESSAGE_KEY = "lc_message"  # the ChatTurn.extra key holding the serialised message

_ROLES: dict[str, type[BaseMessage]] = {
    "human": HumanMessage, "user": HumanMessage,
    "ai": AIMessage, "assistant": AIMessage,
    "system": SystemMessage,
}


def _text(message: BaseMessage) -> str:
    """The message's text for the ``content`` column (NUL characters dropped)."""
    return message.text.replace("\x00", "")


def _to_turn(message: BaseMessage, agent_id: str, session_id: str) -> ChatTurn:
    if not isinstance(message, BaseMessage):
        raise TypeError(f"expected a LangChain BaseMessage, got {type(message).__name__}")
    try:
        return ChatTurn(session_id=session_id, agent_id=agent_id, role=message.type,
                        content=_text(message), extra={MESSAGE_KEY: message_to_dict(message)})
    except ValidationError as exc:
        raise InvalidInput(f"cannot store this {message.type} message: {exc}") from exc


def _from_turn(turn: ChatTurn) -> BaseMessage:
    stored = turn.extra.get(MESSAGE_KEY)
    if isinstance(stored, dict):
        return messages_from_dict([stored])[0]
    # A turn some other writer added: rebuild what its role says.
    role = turn.role.lower()
    if role == "tool":
        return ToolMessage(content=turn.content, tool_call_id=str(turn.extra.get("tool_call_id", "")))
    cls = _ROLES.get(role)
    if cls is not None:
        return cls(content=turn.content)
    return ChatMessage(role=turn.role, content=turn.content)


class AgentMemChatMessageHistory(BaseChatMessageHistory):
    """The messages of one session of one agent, kept in agentmem (PostgreSQL or Chroma).

    Sessions and agents are isolated: a history only sees turns of its own
    ``(agent_id, session_id)``. The ``memory`` is borrowed, not owned: close it yourself.

    Example:
        .. code-block:: python

            history = AgentMemChatMessageHistory(memory, agent_id="bot", session_id="s1")
            history.add_messages([HumanMessage("hi"), AIMessage("hello")])
            history.messages  # [HumanMessage('hi'), AIMessage('hello')]
    """

    def __init__(self, memory: HybridMemory, *, agent_id: str, session_id: str) -> None:
        # InvalidInput is a ValueError, as LangChain expects of a bad argument.
        agent_id, session_id = as_agent_id(agent_id), as_name(session_id, "session_id")
        self.memory = memory
        self.agent_id = agent_id
        self.session_id = session_id

    def _turns(self, messages: Sequence[BaseMessage]) -> list[ChatTurn]:
        return [_to_turn(m, self.agent_id, self.session_id) for m in messages]

    @property
    def messages(self) -> list[BaseMessage]:  # type: ignore[override]
        """Every message of the session, oldest first."""
        return [_from_turn(t) for t in self.memory.history(self.session_id, self.agent_id)]

    async def aget_messages(self) -> list[BaseMessage]:
        turns = await self.memory.ahistory(self.session_id, self.agent_id)
        return [_from_turn(t) for t in turns]

    def add_messages(self, messages: Sequence[BaseMessage]) -> None:
        """Append messages, in order, in one write."""
        turns = self._turns(messages)
        if turns:
            self.memory.add_turns(turns)

    async def aadd_messages(self, messages: Sequence[BaseMessage]) -> None:
        turns = self._turns(messages)
        if turns:
            await self.memory.aadd_turns(turns)

    def clear(self) -> None:
        """Delete every message of this session (other sessions and agents are untouched)."""
        self.memory.clear_history(self.session_id, self.agent_id)

    async def aclear(self) -> None:
        await self.memory.aclear_history(self.session_id, self.agent_id)

    def __repr__(self) -> str:
        return (f"{type(self).__name__}(agent_id={self.agent_id!r}, "
                f"session_id={self.session_id!r}, mode={self.memory.mode!r})")

