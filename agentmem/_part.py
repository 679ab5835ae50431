"""What every part of the :class:`~agentmem.HybridMemory` facade relies on.

The facade is assembled from parts (reads, history, links, lifecycle, operations), each a mixin
in its own module; this base names the few things they share, which ``HybridMemory`` provides.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from .backends.base import Backend, Mode, Vectors
from .embeddings import Embedder
from .models import Memory

if TYPE_CHECKING:
    from .cache import SessionCache
    from .lifecycle.retention import RetentionPolicy
    from .ops.metrics import Metrics
    from .retrieval import RetrievalConfig

__all__ = ["FacadePart"]


class FacadePart:
    """The backend, embedder, metrics recorder, session cache, readiness and the write
    path, shared by every facade part."""

    backend: Backend
    embedder: Embedder
    metrics: Metrics | None = None  # times every public operation when set (see _twins)
    cache: SessionCache | None = None  # embeddings and recalls when set (see agentmem.cache)
    retrieval: RetrievalConfig
    retention: RetentionPolicy | None = None

    def _changed(self, agent_id: str | None) -> None:
        """Invalidate cached recalls of ``agent_id`` (None: of every agent); call it after
        every change to memories, links or expiry, in a ``finally``."""
        if self.cache is not None:
            self.cache.changed(agent_id)

    @property
    def mode(self) -> Mode:
        return self.backend.mode

    async def _ensure_ready(self) -> None:
        """Check (or, for an embedded store, create) the schema once."""
        raise NotImplementedError

    async def _write(self, memories: Sequence[Memory], embeddings: Vectors | None, *,
                     dedup: bool = False) -> list[Memory]:
        """Store ``memories``; returns what each became."""
        raise NotImplementedError

    async def _store(self, memories: Sequence[Memory], vectors: Vectors) -> None:
        """Upsert ``memories`` as they are: no retention, enrichment or merging."""
        raise NotImplementedError
