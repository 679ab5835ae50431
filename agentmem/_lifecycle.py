"""The lifecycle part of :class:`~agentmem.HybridMemory`: expiry, cleanup, archive, consolidation.

Policies live in :mod:`agentmem.lifecycle`; these methods scope and validate, then call them.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime

from . import _validate as check
from ._part import FacadePart
from ._twins import on_loop, sync_twin
from .backends.base import Archive, ExpiryControl, Progress
from .errors import ConfigError, InvalidInput
from .lifecycle.cleanup import CleanupReport, cleanup
from .lifecycle.consolidation import (
    ConsolidationPolicy,
    ConsolidationReport,
    ExtractiveSummarizer,
    Summarizer,
    consolidate,
)
from .models import Memory, as_agent_id, as_utc

__all__ = ["Lifecycle"]


class Lifecycle(FacadePart):
    """What happens to memories over time: they expire, are cleaned up, or consolidated."""

    @on_loop
    async def acleanup(self, agent_id: str | None = None, *, dry_run: bool = False,
                       archive: bool = False, batch_size: int = 1000,
                       progress: Progress | None = None) -> CleanupReport:
        """Delete (``archive=True``: move to the archive) expired memories of one agent, or
        of all; exact counts per agent and type. ``dry_run`` only counts; ``progress(done,
        total)`` is called as agents are done."""
        agent = None if agent_id is None else as_agent_id(agent_id)
        if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
            raise InvalidInput(f"batch_size must be a positive int, got {batch_size!r}")
        await self._ensure_ready()
        try:
            return await cleanup(self.backend, agent, dry_run=dry_run, archive=archive,
                                 batch_size=batch_size, progress=progress)
        finally:
            if not dry_run:
                self._changed(agent)

    cleanup = sync_twin(acleanup)

    @on_loop
    async def aarchived(self, agent_id: str) -> list[Memory]:
        """The memories ``cleanup(archive=True)`` moved out of an agent's store."""
        agent = as_agent_id(agent_id)
        if not isinstance(self.backend, Archive):
            raise ConfigError(f"the {self.mode} backend keeps no archive")
        await self._ensure_ready()
        return await self.backend.archived(agent)

    archived = sync_twin(aarchived)

    @on_loop
    async def aset_expiry(self, ids: Sequence[str] | str, agent_id: str,
                          expires_at: datetime | None) -> int:
        """Make memories expire at ``expires_at`` (None: never), without rewriting them;
        returns how many of ``ids`` (unexpired memories of the agent) changed."""
        agent, id_list = as_agent_id(agent_id), check.ids(ids)
        expires_at = as_utc(expires_at, "expires_at")
        if not isinstance(self.backend, ExpiryControl):
            raise ConfigError(f"the {self.mode} backend cannot change expiry in place")
        await self._ensure_ready()
        try:
            return await self.backend.set_expiry(agent, id_list, expires_at)
        finally:
            self._changed(agent)

    set_expiry = sync_twin(aset_expiry)

    @on_loop
    async def aconsolidate(self, agent_id: str, *, policy: ConsolidationPolicy | None = None,
                           summarizer: Summarizer | None = None, dry_run: bool = False,
                           progress: Callable[[int, int], None] | None = None
                           ) -> ConsolidationReport:
        """Turn groups of similar recent episodes into semantic memories (see
        :mod:`agentmem.lifecycle.consolidation`); idempotent. ``progress(done, total)``
        is called after each group."""
        agent = as_agent_id(agent_id)
        await self._ensure_ready()
        try:
            return await consolidate(self.backend, self._write, agent,
                                     policy=policy or ConsolidationPolicy(),
                                     summarizer=summarizer or ExtractiveSummarizer(),
                                     dry_run=dry_run, progress=progress)
        finally:
            if not dry_run:
                self._changed(agent)  # it links summaries to their sources too

    consolidate = sync_twin(aconsolidate)
