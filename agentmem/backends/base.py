"""The one storage protocol that every backend implements.

All methods are coroutines; :class:`agentmem.HybridMemory` gives the sync twins.
Every read and write names the ``agent_id`` it is scoped to.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from ..filters import FilterNode
from ..models import ChatTurn, Memory, MemoryHit, MemoryType

__all__ = ["Backend", "StoreInfo", "Vector"]

Vector = Sequence[float]


@dataclass(frozen=True)
class StoreInfo:
    """What a store was built with, recorded at ``init`` and checked on every open."""

    model_id: str
    dimension: int


class Backend(Protocol):
    """Storage of memories (with vectors) and conversation turns."""

    name: str

    async def init(self, info: StoreInfo) -> None:
        """Create or migrate the schema and record ``info``; idempotent."""
        ...

    async def check(self, info: StoreInfo) -> None:
        """Raise ConfigError if not initialised, DimensionMismatch if built differently."""
        ...

    async def upsert(self, memories: Sequence[Memory], vectors: Sequence[Vector]) -> None:
        """Insert or replace memories by (agent_id, id); all or nothing."""
        ...

    async def query(
        self,
        agent_id: str,
        vector: Vector,
        *,
        k: int,
        memory_types: Sequence[MemoryType],
        where: FilterNode | None = None,
        with_vectors: bool = False,
    ) -> list[MemoryHit]:
        """The ``k`` nearest unexpired memories of one agent, closest first."""
        ...

    async def search_text(
        self,
        agent_id: str,
        text: str,
        *,
        k: int,
        memory_types: Sequence[MemoryType],
        where: FilterNode | None = None,
    ) -> list[MemoryHit]:
        """Lexical search: unexpired memories sharing words with ``text``, best first.

        Scores are in [0, 1); memories with no word in common are not returned.
        """
        ...

    async def get(self, agent_id: str, ids: Sequence[str]) -> list[Memory]:
        """Memories by id, in the order asked; missing ids are left out."""
        ...

    async def list_memories(
        self,
        agent_id: str,
        *,
        memory_types: Sequence[MemoryType],
        where: FilterNode | None = None,
        limit: int | None = None,
        offset: int = 0,
    ) -> list[Memory]:
        """Memories of one agent, oldest first."""
        ...

    async def delete(
        self,
        agent_id: str,
        *,
        ids: Sequence[str] | None = None,
        memory_types: Sequence[MemoryType],
        where: FilterNode | None = None,
    ) -> int:
        """Delete by ids or by filter; returns how many were deleted."""
        ...

    async def count(
        self,
        agent_id: str,
        *,
        memory_types: Sequence[MemoryType],
        where: FilterNode | None = None,
    ) -> dict[MemoryType, int]:
        """How many memories of each type match."""
        ...

    async def append_turns(self, turns: Sequence[ChatTurn]) -> None:
        """Append turns to their sessions, keeping their order."""
        ...

    async def read_turns(
        self, agent_id: str, session_id: str, limit: int | None = None
    ) -> list[ChatTurn]:
        """The last ``limit`` turns of a session (all when None), oldest first."""
        ...

    async def clear_turns(self, agent_id: str, session_id: str) -> int:
        """Delete a session's turns; returns how many."""
        ...

    async def replace_turns(self, agent_id: str, session_id: str,
                            turns: Sequence[ChatTurn]) -> None:
        """Make ``turns`` the whole history of a session, in one step where the store can."""
        ...

    async def list_sessions(self, agent_id: str) -> list[str]:
        """The sessions of an agent that hold turns, first started first."""
        ...

    async def turn_stats(self, agent_id: str) -> tuple[int, int]:
        """(turns, sessions) stored for an agent."""
        ...

    async def close(self) -> None: ...
