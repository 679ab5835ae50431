"""The storage protocol every backend implements, and the optional capabilities.

All methods are coroutines; :class:`agentmem.HybridMemory` derives the sync twins. Every
read and write names the ``agent_id`` it is scoped to, first. A capability (lexical
search, scans with vectors, …) is a small protocol of its own: the facade checks once
whether its backend has it.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal, Protocol, runtime_checkable

import numpy as np

from ..filters import FilterNode
from ..models import ChatTurn, Memory, MemoryHit, MemoryLink, MemoryType, RelatedMemory

__all__ = [
    "AgentList",
    "Archive",
    "Backend",
    "Direction",
    "DistinctValues",
    "ExpiredCounts",
    "ExpiredDeletion",
    "ExpiryControl",
    "IndexRemover",
    "IndexSource",
    "IndexWriter",
    "Indexed",
    "LexicalSearch",
    "LinkStore",
    "Mode",
    "Progress",
    "SessionWindow",
    "StoreInfo",
    "StoreSize",
    "StoreSizes",
    "Vector",
    "VectorScan",
    "Vectors",
]

Vector = Sequence[float] | np.ndarray  # one embedding; numpy arrays are taken as they are
Vectors = Sequence[Vector] | np.ndarray  # a batch; backends take a float32 matrix as it is
Mode = Literal["chroma", "pgvector", "hybrid"]
IndexWriter = Callable[[list[Memory], list[list[float]]], Awaitable[None]]
IndexRemover = Callable[[str, list[str]], Awaitable[None]]  # (agent_id, ids) to drop
Progress = Callable[[int, int], None]  # (done, total), called as a long operation advances


@dataclass(frozen=True)
class StoreInfo:
    """What a store was built with, recorded at ``init`` and checked on every open."""

    model_id: str
    dimension: int


@dataclass(frozen=True)
class StoreSize:
    """How much one store holds, for monitoring and the doctor's index-health check.

    ``memories`` and ``turns`` count stored rows, expired ones included (what the store
    really holds). Bytes are the whole store's, whatever agent was asked about; None
    where the store cannot tell (Chroma). ``collections`` is rows per Chroma collection.
    """

    store: Literal["postgres", "chroma"]
    location: str
    memories: int
    turns: int
    table_bytes: int | None = None
    index_bytes: int | None = None
    collections: dict[str, int] = field(default_factory=dict)


class Backend(Protocol):
    """Storage of memories (with vectors) and conversation history."""

    @property
    def mode(self) -> Mode:
        """The storage mode this backend is: ``pgvector``, ``chroma`` or ``hybrid``."""
        ...

    @property
    def location(self) -> str:
        """Where the data lives, safe to print (no password)."""
        ...

    async def init(self, info: StoreInfo) -> None:
        """Create or migrate the schema and record ``info``; idempotent."""
        ...

    async def check(self, info: StoreInfo) -> None:
        """Raise ConfigError if not initialised, DimensionMismatch if built differently."""
        ...

    async def upsert(self, memories: Sequence[Memory], vectors: Vectors, *,
                     lexical_texts: Sequence[str] | None = None) -> None:
        """Insert or replace memories by (agent_id, id); all or nothing.

        ``lexical_texts`` is what keyword search indexes for each memory (default: its
        content); backends without lexical search ignore it.
        """
        ...

    async def query(self, agent_id: str, vector: Vector, *, k: int,
                    memory_types: Sequence[MemoryType], where: FilterNode | None = None,
                    with_vectors: bool = False) -> list[MemoryHit]:
        """The ``k`` nearest unexpired memories of one agent, closest first."""
        ...

    async def get(self, agent_id: str, ids: Sequence[str]) -> list[Memory]:
        """Memories by id, in the order asked; missing ids are left out."""
        ...

    async def list_memories(self, agent_id: str, *, memory_types: Sequence[MemoryType],
                            where: FilterNode | None = None, limit: int | None = None,
                            offset: int = 0) -> list[Memory]:
        """Memories of one agent, oldest first."""
        ...

    async def delete(self, agent_id: str, *, ids: Sequence[str] | None = None,
                     memory_types: Sequence[MemoryType],
                     where: FilterNode | None = None) -> int:
        """Delete by ids or by filter; returns how many were deleted."""
        ...

    async def count(self, agent_id: str, *, memory_types: Sequence[MemoryType],
                    where: FilterNode | None = None) -> dict[MemoryType, int]:
        """How many memories of each type match."""
        ...

    async def add_turns(self, turns: Sequence[ChatTurn]) -> None:
        """Append turns to their sessions, keeping their order."""
        ...

    async def history(self, agent_id: str, session_id: str,
                      limit: int | None = None) -> list[ChatTurn]:
        """The last ``limit`` turns of a session (all when None), oldest first."""
        ...

    async def clear_history(self, agent_id: str, session_id: str) -> int:
        """Delete a session's turns; returns how many."""
        ...

    async def replace_history(self, agent_id: str, session_id: str,
                              turns: Sequence[ChatTurn]) -> None:
        """Make ``turns`` the whole history of a session, in one step where the store can."""
        ...

    async def sessions(self, agent_id: str) -> list[str]:
        """The sessions of an agent that hold turns, first started first."""
        ...

    async def history_stats(self, agent_id: str) -> tuple[int, int]:
        """(turns, sessions) stored for an agent."""
        ...

    async def close(self) -> None: ...


@runtime_checkable
class LexicalSearch(Protocol):
    """Ranked keyword search next to the vector search."""

    async def search_text(self, agent_id: str, text: str, *, k: int,
                          memory_types: Sequence[MemoryType], where: FilterNode | None = None,
                          with_vectors: bool = False) -> list[MemoryHit]:
        """Unexpired memories sharing words with ``text``, best first; scores in [0, 1).

        Memories with no word in common are not returned. ``with_vectors`` fills each
        hit's stored vector (MMR over a fused recall needs it).
        """
        ...


Direction = Literal["out", "in", "both"]  # which way a walk may follow a link


@runtime_checkable
class StoreSizes(Protocol):
    """What a backend holds: rows, and bytes where the store knows them (monitoring)."""

    async def sizes(self, agent_id: str | None = None) -> tuple[StoreSize, ...]:
        """One :class:`StoreSize` per store (two in hybrid mode: primary, then index),
        counting one agent's rows or everyone's."""
        ...


@runtime_checkable
class LinkStore(Protocol):
    """Typed links between memories of one agent, and walks over them."""

    async def link(self, agent_id: str, links: Sequence[MemoryLink]) -> int:
        """Record links, all or none; returns how many were new.

        NotFound if an end is not an (unexpired) memory of the agent.
        """
        ...

    async def unlink(self, agent_id: str, source_id: str, target_id: str,
                     relation: str | None = None) -> int:
        """Remove the links source → target (of one relation, or all); returns how many."""
        ...

    async def links(self, agent_id: str, ids: Sequence[str]) -> list[MemoryLink]:
        """Every link from or to one of ``ids``, oldest first."""
        ...

    async def related(self, agent_id: str, ids: Sequence[str], *, relation: str | None = None,
                      depth: int = 1, direction: Direction = "both") -> list[RelatedMemory]:
        """Unexpired memories within ``depth`` links of ``ids``, nearest first, each once."""
        ...


@runtime_checkable
class SessionWindow(Protocol):
    """The memories just before given times in one session (contextual indexing)."""

    async def preceding(self, agent_id: str, session_id: str, memory_type: MemoryType, *,
                        before: Sequence[datetime], n: int) -> list[Memory]:
        """For each time in ``before``, the ``n`` unexpired memories of the session and type
        created last before it; each memory once, in no particular order."""
        ...


@runtime_checkable
class VectorScan(Protocol):
    """Every stored memory with its vector, in batches (reindex, export, consolidation)."""

    def scan(self, agent_id: str | None = None, *,
             batch_size: int = 1000) -> AsyncIterator[tuple[list[Memory], list[list[float]]]]:
        """Batches of (memories, vectors) of one agent or all, in a stable order."""
        ...


@runtime_checkable
class ExpiryControl(Protocol):
    """Changing when memories expire without rewriting them (TTL refresh)."""

    async def set_expiry(self, agent_id: str, ids: Sequence[str],
                         expires_at: datetime | None) -> int:
        """Give the unexpired memories among ``ids`` this expiry (None: never); how many."""
        ...


ExpiredCounts = dict[tuple[str, MemoryType], int]  # (agent_id, type) -> memories


@runtime_checkable
class ExpiredDeletion(Protocol):
    """Removal of memories whose ``expires_at`` has passed (cleanup)."""

    async def expired_counts(self, agent_id: str | None = None) -> ExpiredCounts:
        """How many memories have expired, per agent and type (of one agent, or all)."""
        ...

    async def delete_expired(self, agent_id: str | None = None, *, archive: bool = False,
                             batch_size: int = 1000) -> ExpiredCounts:
        """Delete (or, with ``archive``, move to the archive) the memories expired when
        the call starts, in batches that each commit whole; how many, per agent and type."""
        ...


@runtime_checkable
class Archive(Protocol):
    """Where cleanup's ``archive=True`` keeps what it removed."""

    async def archived(self, agent_id: str) -> list[Memory]:
        """The memories cleanup archived for an agent, oldest first."""
        ...


@runtime_checkable
class AgentList(Protocol):
    """Which agents a store holds anything for (backup walks them one by one)."""

    async def agents(self) -> list[str]:
        """Every agent holding memories or conversation turns, sorted."""
        ...


@runtime_checkable
class DistinctValues(Protocol):
    """The distinct values of one metadata key, without reading every memory."""

    async def distinct(self, agent_id: str, key: str, *,
                       memory_types: Sequence[MemoryType]) -> list[object]:
        """Distinct JSON values of ``metadata[key]`` among an agent's memories."""
        ...


@runtime_checkable
class IndexSource(Protocol):
    """A source of truth that queues what a derived index still has to copy or drop."""

    async def upsert_pending(self, memories: Sequence[Memory], vectors: Vectors, *,
                             lexical_texts: Sequence[str] | None = None) -> None:
        """Upsert and queue the rows for the index, in one transaction."""
        ...

    async def delete_pending(self, agent_id: str, *, ids: Sequence[str] | None = None,
                             memory_types: Sequence[MemoryType],
                             where: FilterNode | None = None) -> int:
        """Delete, and queue the deleted ids so the index drops them too."""
        ...

    async def pending_count(self, agent_id: str | None = None) -> int:
        """How many memories the index lacks or holds stale (all agents when None)."""
        ...

    async def mark_pending(self, agent_id: str | None = None) -> int:
        """Queue every memory (of one agent, or all) for the index."""
        ...

    async def drain_pending(self, write: IndexWriter, remove: IndexRemover, *,
                            agent_id: str | None = None, batch_size: int = 1000,
                            wait: bool = False) -> int:
        """Hand queued rows to ``write`` and deleted ones to ``remove``, then unqueue them.

        Returns how many entries were handled; if a callback raises, the rest stay queued.
        An agent another drainer is copying is skipped, or with ``wait`` waited for.
        """
        ...


@runtime_checkable
class Indexed(Protocol):
    """A backend that keeps a derived index and can rebuild it."""

    async def pending_count(self, agent_id: str | None = None) -> int: ...

    async def flush(self, agent_id: str | None = None) -> int:
        """Copy what is queued for the index now and wait for it; returns rows copied."""
        ...

    async def reindex(self, agent_id: str | None = None, *,
                      progress: Progress | None = None) -> int:
        """Rebuild the index from the source of truth; returns rows indexed."""
        ...
