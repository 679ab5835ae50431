"""``HybridBackend``: a source of truth (PostgreSQL) replicated into a derived index (Chroma).

Writes and deletes are acknowledged once the primary has committed them; the same
transaction queues the ids for the index. A background task on agentmem's loop then
copies queued rows to the index (or drops deleted ones) and unqueues them, coalescing a
burst of writes into a few large batches. If the index is down, entries stay queued, a
warning is logged, and :meth:`reindex` or the next successful copy heals it.

Recall goes to the complete path that is cheaper: the primary for an agent smaller than
``index_min_rows`` or one the primary has an ANN index for (``agentmem optimize``), else
the index when it holds everything of that agent (nothing queued), else the primary
again. The index stores each memory exactly as the primary had it, and deletions are
queued like writes, so "nothing queued" means the index answer needs no second read.

When the index is down, hung (every Chroma call is bounded by ``AGENTMEM_CHROMA_TIMEOUT``)
or failing, writes still succeed (they stay queued) and recall is served by the primary:
it never fails for the index's sake. ``reindex`` or the next successful copy catches up.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Sequence
from datetime import datetime
from typing import Protocol

from .._runner import spawn
from ..errors import BackendError, BackendUnavailable
from ..filters import FilterNode
from ..models import ChatTurn, Memory, MemoryHit, MemoryLink, MemoryType, RelatedMemory
from .base import (
    AgentList,
    Backend,
    Direction,
    ExpiredCounts,
    IndexSource,
    LexicalSearch,
    LinkStore,
    Mode,
    Progress,
    SessionWindow,
    StoreInfo,
    StoreSize,
    StoreSizes,
    Vector,
    Vectors,
    VectorScan,
)

__all__ = ["HybridBackend"]

log = logging.getLogger("agentmem")


class Primary(Backend, AgentList, IndexSource, LexicalSearch, LinkStore, SessionWindow,
              VectorScan, Protocol):
    """What the hybrid backend needs of its source of truth."""

    async def has_ann(self, agent_id: str) -> bool:
        """Whether the primary has an ANN index of its own for this agent."""
        ...

    async def set_expiry(self, agent_id: str, ids: Sequence[str], expires_at: datetime | None,
                         *, pending: bool = False) -> int:
        """Give memories a new expiry, queueing them for the index with ``pending``."""
        ...

    async def expired_counts(self, agent_id: str | None = None) -> ExpiredCounts: ...

    async def delete_expired(self, agent_id: str | None = None, *, archive: bool = False,
                             batch_size: int = 1000, pending: bool = False) -> ExpiredCounts:
        """Delete or archive expired memories, queueing them for the index with ``pending``."""
        ...

    async def archived(self, agent_id: str) -> list[Memory]: ...


class Index(Backend, Protocol):
    """What the hybrid backend needs of its index: a backend whose memories can be dropped."""

    async def drop_memories(self, agent_id: str | None = None) -> None: ...


class HybridBackend:
    """Reads and writes go to ``primary``; ``index`` is kept as a rebuildable copy.

    ``index_min_rows``: agents with fewer memories are always recalled from the primary
    (its exact plan is faster there than a round trip to the index). The background copy
    starts once no write has come for ``debounce`` seconds, or ``max_delay`` after the
    first write waiting, so a bulk load is not slowed by copying alongside it.
    """

    mode: Mode = "hybrid"

    def __init__(self, primary: Primary, index: Index, *, index_min_rows: int = 5000,
                 debounce: float = 0.2, max_delay: float = 5.0, size_ttl: float = 30.0) -> None:
        self.primary = primary
        self.index = index
        self.index_min_rows = index_min_rows
        self.debounce = debounce
        self.max_delay = max_delay
        self._last_write = 0.0
        self.size_ttl = size_ttl
        self._info: StoreInfo | None = None  # set by init / check, which come first
        self._index_ready = False
        self._dirty: set[str] = set()
        self._task: asyncio.Task[None] | None = None
        self._sizes: dict[str, tuple[int, float]] = {}

    @property
    def location(self) -> str:
        return f"{self.primary.location} + {self.index.location}"

    def __repr__(self) -> str:
        return f"HybridBackend({self.primary!r}, {self.index!r})"

    # -- the index: availability and replication --

    async def _ensure_index(self) -> bool:
        """Make the index usable; False (with a warning) if it is unreachable."""
        if self._index_ready:
            return True
        if self._info is None:
            return False
        try:
            await self.index.init(self._info)  # derived data: always safe to create
        except BackendUnavailable as exc:
            log.warning("Chroma index unavailable, serving from PostgreSQL: %s", exc)
            return False
        self._index_ready = True
        return True

    def _index_failed(self, exc: Exception, what: str) -> None:
        log.warning("%s (%s); run `agentmem reindex`", what, exc)
        self._index_ready = False

    async def _remove(self, agent_id: str, ids: list[str]) -> None:
        await self.index.delete(agent_id, ids=ids, memory_types=list(MemoryType))

    async def _copy(self, agent_id: str | None, *, wait: bool = False) -> int:
        """Copy queued entries to the index now (``wait``: also those another drainer has
        in hand); on failure they stay queued."""
        if not await self._ensure_index():
            return 0
        try:
            return await self.primary.drain_pending(self.index.upsert, self._remove,
                                                    agent_id=agent_id, wait=wait)
        except (BackendUnavailable, BackendError) as exc:
            self._index_failed(exc, "memories stored in PostgreSQL but not yet indexed in Chroma")
            return 0

    def _schedule(self, agent_ids: set[str]) -> None:
        self._dirty |= agent_ids
        self._last_write = time.monotonic()
        if self._task is None or self._task.done():
            self._task = spawn(self._copy_dirty())  # let finish at interpreter exit

    async def _copy_dirty(self) -> None:
        deadline = time.monotonic() + self.max_delay
        while (quiet := time.monotonic() - self._last_write) < self.debounce and (
                time.monotonic() < deadline):
            await asyncio.sleep(self.debounce - quiet)
        while self._dirty:
            agents, self._dirty = self._dirty, set()
            for agent in sorted(agents):
                await self._copy(agent)

    async def flush(self, agent_id: str | None = None) -> int:
        """Wait for the background copy (and any other drainer of the same agents), then
        copy whatever is still queued; returns rows."""
        if self._task is not None:
            await self._task
        return await self._copy(agent_id, wait=True)

    # -- schema --

    async def init(self, info: StoreInfo) -> None:
        await self.primary.init(info)
        self._info = info
        await self._ensure_index()

    async def check(self, info: StoreInfo) -> None:
        await self.primary.check(info)
        self._info = info

    # -- memories --

    async def upsert(self, memories: Sequence[Memory], vectors: Vectors, *,
                     lexical_texts: Sequence[str] | None = None) -> None:
        # Keyword search is served by PostgreSQL alone, so only it keeps the lexical texts.
        await self.primary.upsert_pending(memories, vectors,  # acknowledged from here on
                                          lexical_texts=lexical_texts)
        agents = {m.agent_id for m in memories}
        for agent in agents & self._sizes.keys():  # an upper bound is enough for routing
            n, read_at = self._sizes[agent]
            self._sizes[agent] = (n + sum(m.agent_id == agent for m in memories), read_at)
        self._schedule(agents)

    async def expired_counts(self, agent_id: str | None = None) -> ExpiredCounts:
        return await self.primary.expired_counts(agent_id)

    async def delete_expired(self, agent_id: str | None = None, *, archive: bool = False,
                             batch_size: int = 1000) -> ExpiredCounts:
        gone = await self.primary.delete_expired(agent_id, archive=archive,
                                                 batch_size=batch_size, pending=True)
        agents = {a for a, _ in gone}
        for agent in agents:
            self._sizes.pop(agent, None)
        self._schedule(agents)  # the index drops them from the queue
        return gone

    async def archived(self, agent_id: str) -> list[Memory]:
        return await self.primary.archived(agent_id)

    async def set_expiry(self, agent_id: str, ids: Sequence[str],
                         expires_at: datetime | None) -> int:
        n = await self.primary.set_expiry(agent_id, ids, expires_at, pending=True)
        if n:
            self._schedule({agent_id})
        return n

    async def delete(self, agent_id: str, *, ids: Sequence[str] | None = None,
                     memory_types: Sequence[MemoryType],
                     where: FilterNode | None = None) -> int:
        n = await self.primary.delete_pending(agent_id, ids=ids, memory_types=memory_types,
                                              where=where)
        if n:
            self._sizes.pop(agent_id, None)
            self._schedule({agent_id})
        return n

    async def _agent_size(self, agent_id: str) -> int:
        """The agent's memory count, re-read at most every ``size_ttl`` seconds."""
        known = self._sizes.get(agent_id)
        if known is not None and time.monotonic() - known[1] < self.size_ttl:
            return known[0]
        n = sum((await self.primary.count(agent_id, memory_types=list(MemoryType))).values())
        self._sizes[agent_id] = (n, time.monotonic())
        return n

    async def query(self, agent_id: str, vector: Vector, *, k: int,
                    memory_types: Sequence[MemoryType], where: FilterNode | None = None,
                    with_vectors: bool = False) -> list[MemoryHit]:
        if (await self._agent_size(agent_id) >= self.index_min_rows
                and not await self.primary.has_ann(agent_id)):
            hits = await self._query_index(agent_id, vector, k, memory_types, where,
                                           with_vectors)
            if hits is not None:
                return hits
        return await self.primary.query(agent_id, vector, k=k, memory_types=memory_types,
                                        where=where, with_vectors=with_vectors)

    async def _query_index(self, agent_id: str, vector: Vector, k: int,
                           memory_types: Sequence[MemoryType], where: FilterNode | None,
                           with_vectors: bool) -> list[MemoryHit] | None:
        """Hits from the index when it holds everything of this agent, else None."""
        if not await self._ensure_index() or await self.primary.pending_count(agent_id):
            return None
        try:
            return await self.index.query(agent_id, vector, k=k, memory_types=memory_types,
                                          where=where, with_vectors=with_vectors)
        except (BackendUnavailable, BackendError) as exc:
            self._index_failed(exc, "Chroma query failed, serving from PostgreSQL")
            return None

    async def search_text(self, agent_id: str, text: str, *, k: int,
                          memory_types: Sequence[MemoryType], where: FilterNode | None = None,
                          with_vectors: bool = False) -> list[MemoryHit]:
        return await self.primary.search_text(agent_id, text, k=k, memory_types=memory_types,
                                              where=where, with_vectors=with_vectors)

    # Links live in the source of truth alone; a memory the index drops keeps none anyway.

    async def link(self, agent_id: str, links: Sequence[MemoryLink]) -> int:
        return await self.primary.link(agent_id, links)

    async def unlink(self, agent_id: str, source_id: str, target_id: str,
                     relation: str | None = None) -> int:
        return await self.primary.unlink(agent_id, source_id, target_id, relation)

    async def links(self, agent_id: str, ids: Sequence[str]) -> list[MemoryLink]:
        return await self.primary.links(agent_id, ids)

    async def related(self, agent_id: str, ids: Sequence[str], *, relation: str | None = None,
                      depth: int = 1, direction: Direction = "both") -> list[RelatedMemory]:
        return await self.primary.related(agent_id, ids, relation=relation, depth=depth,
                                          direction=direction)

    async def preceding(self, agent_id: str, session_id: str, memory_type: MemoryType, *,
                        before: Sequence[datetime], n: int) -> list[Memory]:
        return await self.primary.preceding(agent_id, session_id, memory_type, before=before,
                                            n=n)

    def scan(self, agent_id: str | None = None, *,
             batch_size: int = 1000) -> AsyncIterator[tuple[list[Memory], list[list[float]]]]:
        return self.primary.scan(agent_id, batch_size=batch_size)

    async def agents(self) -> list[str]:
        return await self.primary.agents()

    async def get(self, agent_id: str, ids: Sequence[str]) -> list[Memory]:
        return await self.primary.get(agent_id, ids)

    async def list_memories(self, agent_id: str, *, memory_types: Sequence[MemoryType],
                            where: FilterNode | None = None, limit: int | None = None,
                            offset: int = 0) -> list[Memory]:
        return await self.primary.list_memories(agent_id, memory_types=memory_types,
                                                where=where, limit=limit, offset=offset)

    async def count(self, agent_id: str, *, memory_types: Sequence[MemoryType],
                    where: FilterNode | None = None) -> dict[MemoryType, int]:
        return await self.primary.count(agent_id, memory_types=memory_types, where=where)

    # -- the index's own operations --

    async def pending_count(self, agent_id: str | None = None) -> int:
        return await self.primary.pending_count(agent_id)

    async def sizes(self, agent_id: str | None = None) -> tuple[StoreSize, ...]:
        """The primary's sizes, then the index's (either may lack the capability)."""
        out: list[StoreSize] = []
        for store in (self.primary, self.index):
            if isinstance(store, StoreSizes):
                out.extend(await store.sizes(agent_id))
        return tuple(out)

    async def reindex(self, agent_id: str | None = None, *,
                      progress: Progress | None = None) -> int:
        """Rebuild the index (one agent's part, or all) from the primary."""
        assert self._info is not None, "init or check comes first"
        if self._task is not None:
            await self._task
        await self.index.init(self._info)
        self._index_ready = True
        # Queue first, so recall is served by the primary while the index is rebuilt.
        total = await self.primary.mark_pending(agent_id)
        await self.index.drop_memories(agent_id)
        done = 0

        async def write(memories: list[Memory], vectors: list[list[float]]) -> None:
            nonlocal done
            await self.index.upsert(memories, vectors)
            done += len(memories)
            if progress is not None:
                progress(done, max(done, total))

        return await self.primary.drain_pending(write, self._remove, agent_id=agent_id)

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
            if self._task is not None:
                await self._task  # never drop a copy half-way; what fails stays queued
        finally:
            try:
                await self.primary.close()
            finally:
                await self.index.close()
