"""The conversation-history half of :class:`~agentmem.HybridMemory`: ordered turns per session."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from . import _validate as check
from ._part import FacadePart
from ._twins import on_loop, sync_twin
from .errors import InvalidInput
from .models import ChatTurn, as_agent_id, as_name

__all__ = ["ConversationHistory"]


class ConversationHistory(FacadePart):
    """Chat turns kept per ``(agent_id, session_id)``, oldest first."""

    @on_loop
    async def aadd_turns(self, turns: Sequence[ChatTurn]) -> list[ChatTurn]:
        """Append several messages, in order, in one write (ChatTurn objects only)."""
        turns = check.turns(turns)
        await self._ensure_ready()
        if turns:
            await self.backend.add_turns(turns)
        return turns

    add_turns = sync_twin(aadd_turns)

    @on_loop
    async def aadd_turn(self, session_id: str, agent_id: str, role: str, content: str = "", *,
                        extra: Mapping[str, Any] | None = None) -> ChatTurn:
        """Append one message to a session's history."""
        turn = check.build(ChatTurn, session_id=session_id, agent_id=agent_id, role=role,
                           content=content, extra=dict(extra or {}))
        return (await self.aadd_turns([turn]))[0]

    add_turn = sync_twin(aadd_turn)

    @on_loop
    async def ahistory(self, session_id: str, agent_id: str, *,
                       limit: int | None = None) -> list[ChatTurn]:
        """A session's last ``limit`` turns (all when None), oldest first."""
        agent, limit = as_agent_id(agent_id), check.limit(limit, allow_zero=False)
        session = as_name(session_id, "session_id")
        await self._ensure_ready()
        return await self.backend.history(agent, session, limit)

    history = sync_twin(ahistory)

    @on_loop
    async def aclear_history(self, session_id: str, agent_id: str) -> int:
        """Delete a session's turns; returns how many."""
        agent, session = as_agent_id(agent_id), as_name(session_id, "session_id")
        await self._ensure_ready()
        return await self.backend.clear_history(agent, session)

    clear_history = sync_twin(aclear_history)

    @on_loop
    async def areplace_history(self, session_id: str, agent_id: str,
                               turns: Sequence[ChatTurn]) -> list[ChatTurn]:
        """Make ``turns`` the whole history of a session (one transaction in PostgreSQL).

        For edits a chat framework makes (drop or insert one message); in Chroma mode the new
        turns are written before the old are deleted, so a failure never loses both.
        """
        agent, turns = as_agent_id(agent_id), check.turns(turns)
        session_id = as_name(session_id, "session_id")
        if any(t.agent_id != agent or t.session_id != session_id for t in turns):
            raise InvalidInput(f"every turn must belong to session {session_id!r} of "
                                     f"agent {agent!r}")
        await self._ensure_ready()
        await self.backend.replace_history(agent, session_id, turns)
        return turns

    replace_history = sync_twin(areplace_history)

    @on_loop
    async def asessions(self, agent_id: str) -> list[str]:
        """The sessions of an agent that hold turns, first started first."""
        agent = as_agent_id(agent_id)
        await self._ensure_ready()
        return await self.backend.sessions(agent)

    sessions = sync_twin(asessions)
