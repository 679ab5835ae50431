"""The operations part of :class:`~agentmem.HybridMemory`: counts, the Chroma index, backups."""

from __future__ import annotations

import os

from ._part import FacadePart
from ._twins import on_loop, sync_twin
from .backends.base import Indexed, Progress
from .errors import ConfigError
from .models import MemoryStats, MemoryType, as_agent_id
from .ops.backup import BackupReport, export_backup, restore_backup

__all__ = ["Operations"]


class Operations(FacadePart):
    """What an operator asks of a store: how much it holds, an exact index, and backups."""

    @on_loop
    async def astats(self, agent_id: str) -> MemoryStats:
        """Counts per memory type, turns, sessions and memories waiting for the index, and
        the session cache's hits and misses when there is one."""
        agent = as_agent_id(agent_id)
        await self._ensure_ready()
        counts = await self.backend.count(agent, memory_types=list(MemoryType))
        turns, sessions = await self.backend.history_stats(agent)
        pending = (await self.backend.pending_count(agent)
                   if isinstance(self.backend, Indexed) else 0)
        return MemoryStats(agent_id=agent, by_type={t.value: n for t, n in counts.items()},
                           total=sum(counts.values()), turns=turns, sessions=sessions,
                           pending_index=pending,
                           cache=None if self.cache is None else self.cache.stats())

    stats = sync_twin(astats)

    @on_loop
    async def areindex(self, agent_id: str | None = None, *,
                       progress: Progress | None = None) -> int:
        """Rebuild the Chroma index from PostgreSQL (one agent, or all); returns rows indexed.

        ``progress(done, total)`` is called after each batch copied."""
        if not isinstance(self.backend, Indexed):
            raise ConfigError(f"reindex rebuilds Chroma from PostgreSQL: it needs hybrid mode, "
                              f"this memory is in {self.mode} mode")
        await self._ensure_ready()
        try:
            return await self.backend.reindex(agent_id, progress=progress)
        finally:
            self._changed(agent_id)  # a repaired index may answer differently

    reindex = sync_twin(areindex)

    @on_loop
    async def aflush_index(self, agent_id: str | None = None) -> int:
        """Copy writes still queued for the Chroma index now (hybrid mode); returns rows.

        Hybrid writes reach the index in the background; recall never depends on it.
        """
        if not isinstance(self.backend, Indexed):
            return 0
        await self._ensure_ready()
        return await self.backend.flush(agent_id)

    flush_index = sync_twin(aflush_index)

    @on_loop
    async def aexport(self, path: str | os.PathLike[str], agent_id: str | None = None, *,
                      batch_size: int = 1000, progress: Progress | None = None) -> BackupReport:
        """Write a backup (JSON lines, gzip for a ``.gz`` name) of one agent or all: every
        memory with its vector, the links and the chat history (:mod:`agentmem.ops.backup`)."""
        agent = None if agent_id is None else as_agent_id(agent_id)
        await self._ensure_ready()
        return await export_backup(self.backend, self.embedder, path, agent_id=agent,
                                   batch_size=batch_size, progress=progress)

    export = sync_twin(aexport)

    @on_loop
    async def arestore(self, path: str | os.PathLike[str], agent_id: str | None = None, *,
                       batch_size: int = 500, reembed: bool = False, skip_links: bool = False,
                       progress: Progress | None = None) -> BackupReport:
        """Restore a backup (of one agent, or all) as it was: ids, times, tiers, expiry,
        vectors (re-embedded under another embedder or with ``reembed``), links and history.

        The file is checked whole before anything is written; re-running is safe."""
        agent = None if agent_id is None else as_agent_id(agent_id)
        await self._ensure_ready()
        try:
            return await restore_backup(self.backend, self.embedder, self._store, path,
                                        agent_id=agent, batch_size=batch_size, reembed=reembed,
                                        skip_links=skip_links, progress=progress)
        finally:
            self._changed(agent)  # links and rows of ``agent``, or of every agent

    restore = sync_twin(arestore)
