"""``HybridMemory``: the facade agents and framework adapters talk to.

It validates arguments, embeds, and calls one :class:`~agentmem.backends.base.Backend`:
PostgreSQL (``pgvector`` mode), Chroma (``chroma`` mode) or a
:class:`~agentmem.backends.hybrid.HybridBackend` (``hybrid`` mode) that owns replication.
Retrieval policy lives in :mod:`agentmem.retrieval`. Reads, chat history, links, lifecycle
and operations are parts of the facade in their own modules (``_reads``, ``_history``,
``_links``, ``_lifecycle``, ``_operations``). Each async method has one implementation; its sync twin
is derived by :func:`~agentmem._twins.sync_twin`.
"""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from . import _validate as check
from ._history import ConversationHistory
from ._lifecycle import Lifecycle
from ._links import MemoryLinks
from ._operations import Operations
from ._reads import Reads
from ._runner import shared_runner
from ._twins import on_loop, sync_twin
from ._validate import MemoryTypes
from .backends.base import (
    Backend,
    StoreInfo,
    Vector,
    Vectors,
)
from .cache import SessionCache
from .embeddings import Embedder, embedder_from_spec
from .errors import ConfigError, InvalidInput, NotFound
from .factory import backend_from_settings, compose
from .lifecycle.dedup import merge_duplicates
from .lifecycle.enrichment import Enricher, as_enricher, enrich
from .lifecycle.retention import RetentionPolicy
from .models import (
    Memory,
    MemoryTier,
    MemoryType,
    as_name,
    utcnow,
)
from .retrieval import RetrievalConfig
from .retrieval.context import lexical_texts
from .settings import AgentMemSettings, load_settings

if TYPE_CHECKING:
    from .backends.chroma import ChromaBackend
    from .backends.postgres import PostgresBackend
    from .ops.metrics import Metrics

__all__ = ["HybridMemory"]

_UNSET: Any = object()


class HybridMemory(Reads, ConversationHistory, MemoryLinks, Lifecycle, Operations):
    """Long-term memory for agents: remember, recall, forget, history, stats.

    Every method has an async twin with an ``a`` prefix (``recall`` / ``arecall``).
    Every call is scoped to one ``agent_id``.
    """

    def __init__(self, *, embedder: Embedder, backend: Backend | None = None,
                 postgres: PostgresBackend | None = None, chroma: ChromaBackend | None = None,
                 auto_init: bool = False, retrieval: RetrievalConfig | None = None,
                 enricher: Enricher | None = None,
                 dedup_threshold: float | None = None,
                 retention: RetentionPolicy | None = None,
                 metrics: Metrics | None = None, cache: SessionCache | None = None) -> None:
        """Give a ``backend``, or ``postgres`` and/or ``chroma`` (both: hybrid mode).

        ``retrieval`` sets what a ranked recall weighs (default: :class:`RetrievalConfig`).
        ``enricher`` labels every write's metadata (see :mod:`agentmem.lifecycle.enrichment`);
        None, the default, adds nothing. ``dedup_threshold`` (a cosine, off by default)
        merges a new memory into an existing near-duplicate (:mod:`agentmem.lifecycle.dedup`).
        ``retention`` gives memories the expiry of their tier (off by default; see
        :mod:`agentmem.lifecycle.retention`). ``metrics`` records every operation's latency
        and errors (see :mod:`agentmem.ops.metrics`); None, the default, costs nothing.
        ``cache`` keeps embeddings and recall results in this process (see
        :mod:`agentmem.cache`); None, the default, embeds and queries every time.
        """
        if dedup_threshold is not None and not -1.0 <= dedup_threshold <= 1.0:
            raise ConfigError(f"dedup_threshold must be a cosine in [-1, 1] or None, got "
                              f"{dedup_threshold!r}")
        if backend is None:
            backend = compose(postgres, chroma)
        elif postgres is not None or chroma is not None:
            raise ConfigError("give either backend= or postgres=/chroma=, not both")
        self.embedder = embedder
        self.backend = backend
        self.retrieval = retrieval or RetrievalConfig()
        self.enricher = as_enricher(enricher)
        self.dedup_threshold = dedup_threshold
        self.retention = retention
        self.metrics = metrics
        self.cache = cache
        self._auto_init = auto_init
        self._ready = False
        self._lock: asyncio.Lock | None = None
        self._finalizer = weakref.finalize(self, _close_backend, backend)

    @classmethod
    def from_settings(cls, settings: AgentMemSettings | None = None, *,
                      embedder: Embedder | None = None,
                      retrieval: RetrievalConfig | None = None,
                      enricher: Enricher | None = None,
                      retention: RetentionPolicy | None = None,
                      metrics: Metrics | None = None,
                      cache: SessionCache | None = None) -> HybridMemory:
        """Build from settings (the environment when None); see :class:`AgentMemSettings`.

        ``AGENTMEM_RETENTION=tiered`` means ``RetentionPolicy()`` unless ``retention`` is given;
        ``AGENTMEM_CACHE=on`` means a :class:`SessionCache` of the configured sizes unless
        ``cache`` is given.
        """
        settings = settings or load_settings()
        if retention is None and settings.retention == "tiered":
            retention = RetentionPolicy()
        if cache is None and settings.cache == "on":
            cache = SessionCache(settings.cache_embeddings, settings.cache_recalls,
                                 recall_ttl=settings.cache_ttl)
        embedder = embedder or embedder_from_spec(settings.embeddings)  # before any server starts
        built = backend_from_settings(settings)
        # The embedded store is ours to manage, so it is initialised on first use;
        # a server's schema is only ever changed by an explicit init / `agentmem migrate`.
        return cls(embedder=embedder, backend=built.backend, auto_init=built.embedded, retrieval=retrieval,
                   enricher=enricher, retention=retention, metrics=metrics, cache=cache)

    @property
    def info(self) -> StoreInfo:
        return StoreInfo(self.embedder.model_id, self.embedder.dimension)

    @property
    def closed(self) -> bool:
        return not self._finalizer.alive

    # -- lifecycle ------------------------------------------------------------------

    @on_loop
    async def ainit(self) -> None:
        """Create or migrate the schema and record the embedder; idempotent."""
        await self.backend.init(self.info)
        self._ready = True

    init = sync_twin(ainit)

    async def _ensure_ready(self) -> None:
        if self._ready:
            return
        self._lock = self._lock or asyncio.Lock()
        async with self._lock:
            if self._ready:
                return
            if self._auto_init:
                await self.backend.init(self.info)
            else:
                await self.backend.check(self.info)
            self._ready = True

    @on_loop
    async def aclose(self) -> None:
        """Close connections (the memory cannot be used afterwards)."""
        if self._finalizer.detach() is not None:
            await self.backend.close()

    close = sync_twin(aclose)

    def __enter__(self) -> HybridMemory:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    async def __aenter__(self) -> HybridMemory:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    # -- writing --------------------------------------------------------------------

    async def _write(self, memories: Sequence[Memory], embeddings: Vectors | None, *,
                     dedup: bool = False) -> list[Memory]:
        """Store ``memories``; returns what each became (itself, or what absorbed it)."""
        memories = check.memories(memories)
        if not memories:
            return []
        await self._ensure_ready()
        if self.retention is not None:
            now = utcnow()
            memories = [self.retention.apply(m, now) for m in memories]
        if self.enricher is not None:
            memories = await enrich(self.enricher, memories)
        if embeddings is None:
            texts = [m.content for m in memories]
            embeddings = (await self.embedder.aembed_documents(texts) if self.cache is None
                          else await self.cache.documents(self.embedder, texts))
        vectors = check.embeddings(embeddings, len(memories), self.embedder)
        became = memories
        if dedup and self.dedup_threshold is not None:
            memories, vectors, became = await merge_duplicates(self.backend, memories, vectors,
                                                               self.dedup_threshold)
        await self._store(memories, vectors)
        return became

    async def _store(self, memories: Sequence[Memory], vectors: Vectors) -> None:
        """Upsert memories exactly as given, with their keyword context (one atomic batch).

        The storage boundary: every row is validated again here (enrichment, retention and
        ``model_construct`` all make rows past the constructor's checks), and the keyword
        text is cut to what every backend can index (:func:`agentmem._validate.indexable`).
        """
        memories = check.stored(memories)
        vectors = check.embeddings(vectors, len(memories), self.embedder)
        texts = await lexical_texts(self.backend, memories, self.retrieval.context_turns)
        given = texts if texts is not None else [m.content for m in memories]
        safe = [check.indexable(t) for t in given]
        if texts is not None or any(a is not b for a, b in zip(safe, given, strict=True)):
            texts = safe
        try:
            await self.backend.upsert(memories, vectors, lexical_texts=texts)
        finally:
            for agent in {m.agent_id for m in memories}:
                self._changed(agent)

    @on_loop
    async def aremember(self, content: str, agent_id: str, *,
                        memory_type: MemoryType | str = MemoryType.EPISODIC,
                        importance: float = 0.5, metadata: Mapping[str, Any] | None = None,
                        user_id: str | None = None, session_id: str | None = None,
                        expires_at: datetime | None = None, tier: MemoryTier | str | None = None,
                        source_ids: Sequence[str] | None = None, id: str | None = None,
                        embedding: Vector | None = None) -> Memory:
        """Store one memory and return it (with its id); upserts when ``id`` exists.

        ``tier`` defaults to the one ``importance`` gives (see :class:`MemoryTier`).
        """
        fields = dict(memory_type=memory_type, importance=importance, metadata=metadata,
                      user_id=user_id, session_id=session_id, expires_at=expires_at,
                      source_ids=source_ids, id=id, tier=tier)
        memory = check.build(Memory, content=content, agent_id=agent_id,
                             **{k: v for k, v in fields.items() if v is not None})
        [memory] = await self._write([memory], None if embedding is None else [embedding],
                                     dedup=True)
        return memory

    remember = sync_twin(aremember)

    @on_loop
    async def aremember_many(self, memories: Sequence[Memory],
                             embeddings: Vectors | None = None) -> list[Memory]:
        """Store a batch: all of it or, on any error, none of it. Returns what each
        memory became (with ``dedup_threshold``, a near-duplicate becomes what absorbed it)."""
        return await self._write(memories, embeddings, dedup=True)

    remember_many = sync_twin(aremember_many)

    @on_loop
    async def aupdate(self, id: str, agent_id: str, *, content: str = _UNSET,
                      importance: float = _UNSET, metadata: Mapping[str, Any] = _UNSET,
                      memory_type: MemoryType | str = _UNSET,
                      expires_at: datetime | None = _UNSET, user_id: str | None = _UNSET,
                      session_id: str | None = _UNSET, tier: MemoryTier | str = _UNSET
                      ) -> Memory:
        """Change fields of a stored memory (re-embedding it); NotFound if absent.

        A new importance without a tier re-derives the tier (and, under a retention
        policy, the expiry, unless ``expires_at`` is given too).
        """
        changes = dict(content=content, importance=importance, metadata=metadata,
                       memory_type=memory_type, expires_at=expires_at, user_id=user_id,
                       session_id=session_id, tier=tier)
        found = await self._get([as_name(id, "id")], agent_id)
        if not found:
            raise NotFound(f"no memory {id!r} for agent {agent_id!r}")
        kept = found[0].model_dump()
        if importance is not _UNSET and tier is _UNSET:
            del kept["tier"]
            if self.retention is not None and expires_at is _UNSET:
                del kept["expires_at"]
        memory = check.build(Memory, **{**kept, "updated_at": utcnow(),
                                        **{k: v for k, v in changes.items() if v is not _UNSET}})
        [memory] = await self._write([memory], None)
        return memory

    update = sync_twin(aupdate)

    @on_loop
    async def aforget(self, ids: Sequence[str] | str | None = None, agent_id: str | None = None,
                      *, filter: Mapping[str, Any] | None = None,
                      memory_types: MemoryTypes = None) -> int:
        """Delete memories by id and/or filter; returns how many were deleted."""
        agent, types, where = check.scope(agent_id, memory_types, filter)
        if ids is None and where is None and memory_types is None:
            raise InvalidInput("forget needs ids, a filter or memory_types; to delete every "
                               "memory of an agent pass memory_types=list(MemoryType)")
        id_list = None if ids is None else check.ids(ids)
        await self._ensure_ready()
        try:
            return await self.backend.delete(agent, ids=id_list, memory_types=types, where=where)
        finally:
            self._changed(agent)

    forget = sync_twin(aforget)



def _close_backend(backend: Backend) -> None:
    """Close pools on the loop that owns them (garbage collection or interpreter exit)."""
    shared_runner().run_or_spawn(backend.close())
