"""``HybridBackend``: a source of truth (PostgreSQL) replicated into a derived index (Chroma).

A write is acknowledged once the primary has committed it, marked pending; the rows are
then copied to the index and unmarked. If the index fails, the rows stay marked, a
warning is logged, and reads are served by the primary until :meth:`reindex` heals it.
Recall uses the index only for an agent the index holds completely (nothing pending),
and its hits are re-read from the primary, so a stale index entry is never returned.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Sequence
from typing import Protocol

from ..errors import BackendError, BackendUnavailable
from ..filters import FilterNode
from ..models import ChatTurn, Memory, MemoryHit, MemoryType
from .base import Backend, IndexSource, LexicalSearch, Mode, StoreInfo, Vector, VectorScan

__all__ = ["HybridBackend"]

log = logging.getLogger("agentmem")


class Primary(Backend, IndexSource, LexicalSearch, VectorScan, Protocol):
    """What the hybrid backend needs of its source of truth."""


class Index(Backend, Protocol):
    """What the hybrid backend needs of its index: a backend whose memories can be dropped."""

    async def drop_memories(self, agent_id: str | None = None) -> None: ...


class HybridBackend:
    """Reads and writes go to ``primary``; ``index`` is kept as a rebuildable copy."""

    mode: Mode = "hybrid"

    def __init__(self, primary: Primary, index: Index) -> None:
        self.primary = primary
        self.index = index
        self._info: StoreInfo | None = None  # set by init / check, which come first
        self._index_ready = False

    @property
    def location(self) -> str:
        return f"{self.primary.location} + {self.index.location}"

    def __repr__(self) -> str:
        return f"HybridBackend({self.primary!r}, {self.index!r})"

    # -- the index: availability and replication --

    async def _ensure_index(self, info: StoreInfo | None = None) -> bool:
        """Make the index usable; False (with a warning) if it is unreachable."""
        if self._index_ready:
            return True
        info = info or self._info
        if info is None:
            return False
        try:
            await self.index.init(info)  # derived data: always safe to create
        except BackendUnavailable as exc:
            log.warning("Chroma index unavailable, serving from PostgreSQL: %s", exc)
            return False
        self._index_ready = True
        return True

    def _index_failed(self, exc: Exception, what: str) -> None:
        log.warning("%s (%s); run `agentmem reindex`", what, exc)
        self._index_ready = False

    async def _replicate(self, agent_id: str | None, ids: Sequence[str]) -> int:
        """Copy marked rows to the index; on failure they stay marked for ``reindex``."""
        if not await self._ensure_index():
            return 0
        try:
            return await self.primary.drain_pending(self.index.upsert, agent_id=agent_id,
                                                   ids=ids)
        except (BackendUnavailable, BackendError) as exc:
            self._index_failed(exc, "memories stored in PostgreSQL but not yet indexed in Chroma")
            return 0

    # -- schema --

    async def init(self, info: StoreInfo) -> None:
        await self.primary.init(info)
        self._info = info
        await self._ensure_index(info)

    async def check(self, info: StoreInfo) -> None:
        await self.primary.check(info)
        self._info = info

    # -- memories --

    async def upsert(self, memories: Sequence[Memory], vectors: Sequence[Vector]) -> None:
        await self.primary.upsert_pending(memories, vectors)  # acknowledged from here on
        agents = {m.agent_id for m in memories}
        await self._replicate(agents.pop() if len(agents) == 1 else None, [m.id for m in memories])

    async def query(self, agent_id: str, vector: Vector, *, k: int,
                    memory_types: Sequence[MemoryType], where: FilterNode | None = None,
                    with_vectors: bool = False) -> list[MemoryHit]:
        hits = await self._query_index(agent_id, vector, k, memory_types, where, with_vectors)
        if hits is not None:
            return hits
        return await self.primary.query(agent_id, vector, k=k, memory_types=memory_types,
                                        where=where, with_vectors=with_vectors)

    async def _query_index(self, agent_id: str, vector: Vector, k: int,
                           memory_types: Sequence[MemoryType], where: FilterNode | None,
                           with_vectors: bool) -> list[MemoryHit] | None:
        """Hits from the index when it is complete for this agent, else None."""
        if not await self._ensure_index() or await self.primary.pending_count(agent_id):
            return None
        try:
            hits = await self.index.query(agent_id, vector, k=k, memory_types=memory_types,
                                          where=where, with_vectors=with_vectors)
        except (BackendUnavailable, BackendError) as exc:
            self._index_failed(exc, "Chroma query failed, serving from PostgreSQL")
            return None
        fresh = {m.id: m for m in await self.primary.get(agent_id, [h.memory.id for h in hits])}
        if len(fresh) != len(hits):
            return None  # the index holds an entry the primary no longer has
        return [h.model_copy(update={"memory": fresh[h.memory.id]}) for h in hits]

    async def search_text(self, agent_id: str, text: str, *, k: int,
                          memory_types: Sequence[MemoryType],
                          where: FilterNode | None = None) -> list[MemoryHit]:
        return await self.primary.search_text(agent_id, text, k=k, memory_types=memory_types,
                                              where=where)

    def scan(self, agent_id: str | None = None, *,
             batch_size: int = 1000) -> AsyncIterator[tuple[list[Memory], list[list[float]]]]:
        return self.primary.scan(agent_id, batch_size=batch_size)

    async def get(self, agent_id: str, ids: Sequence[str]) -> list[Memory]:
        return await self.primary.get(agent_id, ids)

    async def list_memories(self, agent_id: str, *, memory_types: Sequence[MemoryType],
                            where: FilterNode | None = None, limit: int | None = None,
                            offset: int = 0) -> list[Memory]:
        return await self.primary.list_memories(agent_id, memory_types=memory_types,
                                                where=where, limit=limit, offset=offset)

    async def delete(self, agent_id: str, *, ids: Sequence[str] | None = None,
                     memory_types: Sequence[MemoryType],
                     where: FilterNode | None = None) -> int:
        n = await self.primary.delete(agent_id, ids=ids, memory_types=memory_types, where=where)
        if await self._ensure_index():
            try:
                await self.index.delete(agent_id, ids=ids, memory_types=memory_types, where=where)
            except (BackendUnavailable, BackendError) as exc:
                # Stale index entries are never served: recall checks them against the primary.
                self._index_failed(exc, "deleted in PostgreSQL but not in Chroma")
        return n

    async def count(self, agent_id: str, *, memory_types: Sequence[MemoryType],
                    where: FilterNode | None = None) -> dict[MemoryType, int]:
        return await self.primary.count(agent_id, memory_types=memory_types, where=where)

    # -- the index's own operations --

    async def pending_count(self, agent_id: str | None = None) -> int:
        return await self.primary.pending_count(agent_id)

    async def reindex(self, agent_id: str | None = None) -> int:
        """Rebuild the index (one agent's part, or all) from the primary."""
        assert self._info is not None, "init or check comes first"
        await self.index.init(self._info)
        self._index_ready = True
        # Mark first, so recall is served by the primary while the index is rebuilt.
        await self.primary.mark_pending(agent_id)
        await self.index.drop_memories(agent_id)
        return await self.primary.drain_pending(self.index.upsert, agent_id=agent_id)

    # -- conversation history lives in the primary only --

    async def add_turns(self, turns: Sequence[ChatTurn]) -> None:
        await self.primary.add_turns(turns)

    async def history(self, agent_id: str, session_id: str,
                      limit: int | None = None) -> list[ChatTurn]:
        return await self.primary.history(agent_id, session_id, limit)

    async def clear_history(self, agent_id: str, session_id: str) -> int:
        return await self.primary.clear_history(agent_id, session_id)

    async def replace_history(self, agent_id: str, session_id: str,
                              turns: Sequence[ChatTurn]) -> None:
        await self.primary.replace_history(agent_id, session_id, turns)

    async def sessions(self, agent_id: str) -> list[str]:
        return await self.primary.sessions(agent_id)

    async def history_stats(self, agent_id: str) -> tuple[int, int]:
        return await self.primary.history_stats(agent_id)

    async def close(self) -> None:
        try:
            await self.primary.close()
        finally:
            await self.index.close()
