"""``HybridMemory``: the facade agents and framework adapters talk to.

Modes: ``pgvector`` (PostgreSQL only), ``chroma`` (Chroma only) and ``hybrid``, where
PostgreSQL is the source of truth and Chroma an index rebuilt from it at will. A write
is acknowledged once PostgreSQL has committed it; if Chroma then fails, the memory stays
marked for indexing and recall is served from PostgreSQL until ``reindex`` heals it.
"""

from __future__ import annotations

import asyncio
import logging
import math
import weakref
from collections.abc import Coroutine, Iterable, Mapping, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any, TypeVar

from pydantic import ValidationError

from ._runner import LoopRunner
from .backends.base import Backend, StoreInfo, Vector
from .embeddings import Embedder, embedder_from_spec
from .errors import (
    BackendError,
    BackendUnavailable,
    ConfigError,
    DimensionMismatch,
    InvalidInput,
    NotFound,
)
from .filters import FilterNode, parse_filter
from .models import (
    ChatTurn,
    Memory,
    MemoryHit,
    MemoryStats,
    MemoryType,
    as_agent_id,
    as_memory_type,
    utcnow,
)
from .retrieval import MMR, fuse_ranks, mmr_select
from .settings import AgentMemSettings, Mode, load_settings

if TYPE_CHECKING:
    from .backends.chroma import ChromaBackend
    from .backends.postgres import PostgresBackend

__all__ = ["HybridMemory"]

T = TypeVar("T")
log = logging.getLogger("agentmem")

MemoryTypes = MemoryType | str | Iterable[MemoryType | str] | None
_MAX_K = 10_000
_UNSET: Any = object()


def _types(value: MemoryTypes) -> list[MemoryType]:
    if value is None:
        return list(MemoryType)
    items = [value] if isinstance(value, (str, MemoryType)) else list(value)
    out = [as_memory_type(v) for v in items]
    if not out:
        raise InvalidInput("memory_types must name at least one type")
    return list(dict.fromkeys(out))


def _k(k: int) -> int:
    if isinstance(k, bool) or not isinstance(k, int) or not 1 <= k <= _MAX_K:
        raise InvalidInput(f"k must be an int in 1..{_MAX_K}, got {k!r}")
    return k



def _model(cls: type[T], **fields: Any) -> T:
    """Build a model, turning validation errors into InvalidInput."""
    try:
        return cls(**fields)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc'])) or 'value'}: {e['msg']}"
                             for e in exc.errors())
        raise InvalidInput(f"invalid {cls.__name__}: {problems}") from exc


class HybridMemory:
    """Long-term memory for agents: remember, recall, forget, history, stats.

    Every method has an async twin with an ``a`` prefix (``recall`` / ``arecall``).
    Every call is scoped to one ``agent_id``.
    """

    def __init__(
        self,
        *,
        embedder: Embedder,
        postgres: PostgresBackend | None = None,
        chroma: ChromaBackend | None = None,
        auto_init: bool = False,
    ) -> None:
        if postgres is None and chroma is None:
            raise ConfigError("HybridMemory needs a postgres backend, a chroma backend, or both")
        self.embedder = embedder
        self._pg = postgres
        self._chroma = chroma
        if postgres is not None and chroma is not None:
            postgres.track_index = True
        self._primary: Backend = postgres if postgres is not None else chroma  # type: ignore[assignment]
        self._auto_init = auto_init
        self._ready = False
        self._index_ready = False
        self._lock: asyncio.Lock | None = None
        self._runner = LoopRunner()
        self._finalizer = weakref.finalize(self, _shutdown, self._runner,
                                           [b for b in (postgres, chroma) if b is not None])

    @classmethod
    def from_settings(
        cls, settings: AgentMemSettings | None = None, *, embedder: Embedder | None = None
    ) -> HybridMemory:
        """Build from settings (the environment when None); see :class:`AgentMemSettings`."""
        settings = settings or load_settings()
        mode = settings.resolved_mode
        embedder = embedder or embedder_from_spec(settings.embeddings)
        postgres = chroma = None
        embedded = False
        if mode in ("pgvector", "hybrid"):
            from .backends.postgres import PostgresBackend, PostgresConfig

            url = settings.postgres_url
            if url is None:
                from .embedded import embedded_postgres_url

                url, embedded = embedded_postgres_url(settings.home), True
            postgres = PostgresBackend(PostgresConfig(url=url, search=settings.search))
        if mode in ("chroma", "hybrid"):
            from .backends.chroma import ChromaBackend

            chroma = ChromaBackend(settings.chroma_location)
            embedded = embedded or (mode == "chroma" and settings.chroma_url is None)
        # The embedded store is ours to manage, so it is initialised on first use;
        # a server's schema is only ever changed by an explicit init / `agentmem migrate`.
        return cls(embedder=embedder, postgres=postgres, chroma=chroma, auto_init=embedded)

    @property
    def mode(self) -> Mode:
        if self._pg is not None and self._chroma is not None:
            return "hybrid"
        return "pgvector" if self._pg is not None else "chroma"

    @property
    def _hybrid(self) -> tuple[PostgresBackend, ChromaBackend]:
        """Both backends, for the code paths that only run in hybrid mode."""
        assert self._pg is not None and self._chroma is not None, "hybrid mode only"
        return self._pg, self._chroma

    @property
    def info(self) -> StoreInfo:
        return StoreInfo(self.embedder.model_id, self.embedder.dimension)

    def _run(self, coro: Coroutine[Any, Any, T]) -> T:
        return self._runner.run(coro)

    # -- lifecycle ------------------------------------------------------------------

    async def _init(self) -> None:
        await self._primary.init(self.info)
        self._ready = True
        if self.mode == "hybrid":
            await self._ensure_index()

    def init(self) -> None:
        """Create or migrate the schema and record the embedder; idempotent."""
        self._run(self._init())

    async def ainit(self) -> None:
        await self._runner.arun(self._init())

    async def _ensure_ready(self) -> None:
        if self._ready:
            return
        if self._lock is None:
            self._lock = asyncio.Lock()
        async with self._lock:
            if self._ready:
                return
            if self._auto_init:
                await self._init()
            else:
                await self._primary.check(self.info)
                self._ready = True

    async def _ensure_index(self) -> bool:
        """Make Chroma usable as the index; False (with a warning) if it is unreachable."""
        if self._index_ready:
            return True
        try:
            await self._hybrid[1].init(self.info)  # the index is derived data: safe to create
        except BackendUnavailable as exc:
            log.warning("Chroma index unavailable, serving from PostgreSQL: %s", exc)
            return False
        self._index_ready = True
        return True

    async def _aclose(self) -> None:
        for backend in (self._pg, self._chroma):
            if backend is not None:
                await backend.close()

    def close(self) -> None:
        """Close connections and stop the private event loop."""
        if not self._runner.closed:
            self._run(self._aclose())
        self._finalizer()

    async def aclose(self) -> None:
        if not self._runner.closed:
            await self._runner.arun(self._aclose())
        self._finalizer()

    def __enter__(self) -> HybridMemory:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    async def __aenter__(self) -> HybridMemory:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    # -- writing --------------------------------------------------------------------

    async def _vectors(self, memories: Sequence[Memory],
                       embeddings: Sequence[Vector] | None) -> list[list[float]]:
        if embeddings is None:
            vectors = await self.embedder.aembed_documents([m.content for m in memories])
        else:
            if len(embeddings) != len(memories):
                raise InvalidInput(f"{len(memories)} memories but {len(embeddings)} embeddings")
            vectors = [list(map(float, v)) for v in embeddings]
        for v in vectors:
            if len(v) != self.embedder.dimension:
                raise DimensionMismatch(
                    f"embedding has dimension {len(v)} but {self.embedder.model_id} "
                    f"produces {self.embedder.dimension}"
                )
            if not all(math.isfinite(x) for x in v):
                raise InvalidInput("embeddings must contain finite numbers only")
        return vectors

    async def _write(self, memories: Sequence[Memory],
                     embeddings: Sequence[Vector] | None = None) -> list[Memory]:
        if not memories:
            return []
        await self._ensure_ready()
        vectors = await self._vectors(memories, embeddings)
        await self._primary.upsert(memories, vectors)  # acknowledged from here on
        if self.mode == "hybrid":
            agents = {m.agent_id for m in memories}
            await self._sync_index(agent_id=agents.pop() if len(agents) == 1 else None,
                                   ids=[m.id for m in memories])
        return list(memories)

    async def _sync_index(self, **scope: Any) -> int:
        """Copy marked rows to Chroma; on failure they stay marked for ``reindex``."""
        if not await self._ensure_index():
            return 0
        try:
            pg, chroma = self._hybrid
            return await pg.sync_index(chroma.upsert, **scope)
        except (BackendUnavailable, BackendError) as exc:
            log.warning("memories stored in PostgreSQL but not yet indexed in Chroma (%s); "
                        "run `agentmem reindex`", exc)
            self._index_ready = False
            return 0

    async def _remember(self, content: str, agent_id: str, embedding: Vector | None,
                        fields: dict[str, Any]) -> Memory:
        fields = {k: v for k, v in fields.items() if v is not None}
        memory = _model(Memory, content=content, agent_id=agent_id, **fields)
        await self._write([memory], None if embedding is None else [embedding])
        return memory

    def remember(
        self,
        content: str,
        agent_id: str,
        *,
        memory_type: MemoryType | str = MemoryType.EPISODIC,
        importance: float = 0.5,
        metadata: Mapping[str, Any] | None = None,
        user_id: str | None = None,
        session_id: str | None = None,
        expires_at: datetime | None = None,
        source_ids: Sequence[str] | None = None,
        id: str | None = None,
        embedding: Vector | None = None,
    ) -> Memory:
        """Store one memory and return it (with its id); upserts when ``id`` exists."""
        return self._run(self._remember(content, agent_id, embedding, dict(
            memory_type=memory_type, importance=importance, metadata=metadata,
            user_id=user_id, session_id=session_id, expires_at=expires_at,
            source_ids=source_ids, id=id)))

    async def aremember(
        self,
        content: str,
        agent_id: str,
        *,
        memory_type: MemoryType | str = MemoryType.EPISODIC,
        importance: float = 0.5,
        metadata: Mapping[str, Any] | None = None,
        user_id: str | None = None,
        session_id: str | None = None,
        expires_at: datetime | None = None,
        source_ids: Sequence[str] | None = None,
        id: str | None = None,
        embedding: Vector | None = None,
    ) -> Memory:
        return await self._runner.arun(self._remember(content, agent_id, embedding, dict(
            memory_type=memory_type, importance=importance, metadata=metadata,
            user_id=user_id, session_id=session_id, expires_at=expires_at,
            source_ids=source_ids, id=id)))

    def remember_many(self, memories: Sequence[Memory],
                      embeddings: Sequence[Vector] | None = None) -> list[Memory]:
        """Store a batch: all of it or, on any error, none of it."""
        return self._run(self._write(list(memories), embeddings))

    async def aremember_many(self, memories: Sequence[Memory],
                             embeddings: Sequence[Vector] | None = None) -> list[Memory]:
        return await self._runner.arun(self._write(list(memories), embeddings))

    async def _update(self, id: str, agent_id: str, changes: dict[str, Any]) -> Memory:
        await self._ensure_ready()
        found = await self._primary.get(as_agent_id(agent_id), [id])
        if not found:
            raise NotFound(f"no memory {id!r} for agent {agent_id!r}")
        changes = {k: v for k, v in changes.items() if v is not _UNSET}
        data = {**found[0].model_dump(), **changes, "updated_at": utcnow()}
        memory = _model(Memory, **data)
        await self._write([memory])
        return memory

    def update(self, id: str, agent_id: str, *, content: str = _UNSET,
               importance: float = _UNSET, metadata: Mapping[str, Any] = _UNSET,
               memory_type: MemoryType | str = _UNSET, expires_at: datetime | None = _UNSET,
               user_id: str | None = _UNSET, session_id: str | None = _UNSET) -> Memory:
        """Change fields of a stored memory (re-embedding it); NotFound if absent."""
        return self._run(self._update(id, agent_id, dict(
            content=content, importance=importance, metadata=metadata,
            memory_type=memory_type, expires_at=expires_at, user_id=user_id,
            session_id=session_id)))

    async def aupdate(self, id: str, agent_id: str, *, content: str = _UNSET,
                      importance: float = _UNSET, metadata: Mapping[str, Any] = _UNSET,
                      memory_type: MemoryType | str = _UNSET,
                      expires_at: datetime | None = _UNSET, user_id: str | None = _UNSET,
                      session_id: str | None = _UNSET) -> Memory:
        return await self._runner.arun(self._update(id, agent_id, dict(
            content=content, importance=importance, metadata=metadata,
            memory_type=memory_type, expires_at=expires_at, user_id=user_id,
            session_id=session_id)))

    async def _forget(self, ids: Sequence[str] | str | None, agent_id: str | None,
                      filter: Mapping[str, Any] | None, memory_types: MemoryTypes) -> int:
        agent = as_agent_id(agent_id)
        where = parse_filter(filter)
        if ids is None and where is None and memory_types is None:
            raise InvalidInput("forget needs ids, a filter or memory_types; to delete every "
                               "memory of an agent pass memory_types=list(MemoryType)")
        id_list = [ids] if isinstance(ids, str) else (None if ids is None else list(ids))
        await self._ensure_ready()
        types = _types(memory_types)
        n = await self._primary.delete(agent, ids=id_list, memory_types=types, where=where)
        if self.mode == "hybrid" and await self._ensure_index():
            try:
                await self._hybrid[1].delete(agent, ids=id_list, memory_types=types, where=where)
            except (BackendUnavailable, BackendError) as exc:
                # Stale index entries are never served: recall checks them against Postgres.
                log.warning("deleted in PostgreSQL but not in Chroma (%s); run "
                            "`agentmem reindex`", exc)
                self._index_ready = False
        return n

    def forget(self, ids: Sequence[str] | str | None = None, agent_id: str | None = None, *,
               filter: Mapping[str, Any] | None = None, memory_types: MemoryTypes = None) -> int:
        """Delete memories by id and/or filter; returns how many were deleted."""
        return self._run(self._forget(ids, agent_id, filter, memory_types))

    async def aforget(self, ids: Sequence[str] | str | None = None, agent_id: str | None = None,
                      *, filter: Mapping[str, Any] | None = None,
                      memory_types: MemoryTypes = None) -> int:
        return await self._runner.arun(self._forget(ids, agent_id, filter, memory_types))

    # -- reading --------------------------------------------------------------------

    async def _recall(self, query: str | None, vector: Vector | None, agent_id: str,
                      memory_types: MemoryTypes, k: int, filter: Mapping[str, Any] | None,
                      mmr: MMR | None, lexical_weight: float = 0.0,
                      lexical_query: str | None = None) -> list[MemoryHit]:
        agent, types, k, where = as_agent_id(agent_id), _types(memory_types), _k(k), parse_filter(filter)
        if not 0.0 <= lexical_weight <= 1.0:
            raise InvalidInput(f"lexical_weight must be in [0, 1], got {lexical_weight!r}")
        lexical_query = lexical_query or query
        if lexical_weight and (not lexical_query or mmr is not None):
            raise InvalidInput("lexical_weight needs a query text and cannot be combined with mmr")
        await self._ensure_ready()
        if vector is None:
            if not isinstance(query, str) or not query.strip():
                raise InvalidInput("recall needs a non-empty query text")
            vector = await self.embedder.aembed_query(query)
        elif len(vector) != self.embedder.dimension:
            raise DimensionMismatch(f"query vector has dimension {len(vector)} but the store "
                                    f"holds {self.embedder.dimension}")
        fetch = max(k, mmr.fetch_k) if mmr else (2 * k if lexical_weight else k)
        hits = None
        if self.mode == "hybrid":
            hits = await self._recall_from_index(agent, vector, types, fetch, where, bool(mmr))
        if hits is None:
            hits = await self._primary.query(agent, vector, k=fetch, memory_types=types,
                                             where=where, with_vectors=bool(mmr))
        if lexical_weight:
            lexical = await self._primary.search_text(agent, str(lexical_query), k=fetch,
                                                      memory_types=types, where=where)
            by_id = {h.memory.id: h for h in [*lexical, *hits]}
            order = fuse_ranks([h.memory.id for h in hits], [h.memory.id for h in lexical],
                               lexical_weight)
            return [by_id[i] for i in order[:k]]
        if mmr is None:
            return hits
        chosen = mmr_select(vector, [h.vector or [] for h in hits], k, mmr.lambda_mult)
        return [hits[i].model_copy(update={"vector": None}) for i in chosen]

    async def _recall_from_index(self, agent: str, vector: Vector, types: list[MemoryType],
                                 k: int, where: FilterNode | None,
                                 with_vectors: bool) -> list[MemoryHit] | None:
        """Recall through Chroma when it is complete for this agent, else None.

        Hits are re-read from PostgreSQL, so what is returned is always the source of truth;
        an index entry Postgres no longer has sends the call to PostgreSQL instead.
        """
        pg, chroma = self._hybrid
        if not await self._ensure_index() or await pg.pending_count(agent):
            return None
        try:
            hits = await chroma.query(agent, vector, k=k, memory_types=types, where=where,
                                      with_vectors=with_vectors)
        except (BackendUnavailable, BackendError) as exc:
            log.warning("Chroma query failed, serving from PostgreSQL: %s", exc)
            self._index_ready = False
            return None
        fresh = {m.id: m for m in await pg.get(agent, [h.memory.id for h in hits])}
        if len(fresh) != len(hits):
            return None
        return [h.model_copy(update={"memory": fresh[h.memory.id]}) for h in hits]

    def recall(self, query: str, agent_id: str, *, memory_types: MemoryTypes = None, k: int = 5,
               filter: Mapping[str, Any] | None = None, mmr: MMR | None = None,
               lexical_weight: float = 0.0) -> list[MemoryHit]:
        """The ``k`` memories of ``agent_id`` closest to ``query``, best first.

        With ``mmr``, ``fetch_k`` nearest are re-ranked for diversity (maximal marginal
        relevance). With ``lexical_weight`` > 0, dense and lexical (:meth:`search_text`)
        rankings are merged by weighted reciprocal rank fusion; each hit keeps the score of
        the search that found it.
        """
        return self._run(self._recall(query, None, agent_id, memory_types, k, filter, mmr,
                                      lexical_weight))

    async def arecall(self, query: str, agent_id: str, *, memory_types: MemoryTypes = None,
                      k: int = 5, filter: Mapping[str, Any] | None = None,
                      mmr: MMR | None = None, lexical_weight: float = 0.0) -> list[MemoryHit]:
        return await self._runner.arun(
            self._recall(query, None, agent_id, memory_types, k, filter, mmr, lexical_weight))

    async def _search_text(self, query: str, agent_id: str, memory_types: MemoryTypes, k: int,
                           filter: Mapping[str, Any] | None) -> list[MemoryHit]:
        agent, types, k, where = as_agent_id(agent_id), _types(memory_types), _k(k), parse_filter(filter)
        if not isinstance(query, str) or not query.strip():
            raise InvalidInput("search_text needs a non-empty query text")
        await self._ensure_ready()
        return await self._primary.search_text(agent, query, k=k, memory_types=types, where=where)

    def search_text(self, query: str, agent_id: str, *, memory_types: MemoryTypes = None,
                    k: int = 5, filter: Mapping[str, Any] | None = None) -> list[MemoryHit]:
        """Lexical search: memories sharing words with ``query``, best first (scores in [0, 1))."""
        return self._run(self._search_text(query, agent_id, memory_types, k, filter))

    async def asearch_text(self, query: str, agent_id: str, *, memory_types: MemoryTypes = None,
                           k: int = 5, filter: Mapping[str, Any] | None = None
                           ) -> list[MemoryHit]:
        return await self._runner.arun(self._search_text(query, agent_id, memory_types, k, filter))

    def recall_by_vector(self, vector: Vector, agent_id: str, *,
                         memory_types: MemoryTypes = None, k: int = 5,
                         filter: Mapping[str, Any] | None = None, mmr: MMR | None = None,
                         lexical_query: str | None = None,
                         lexical_weight: float = 0.0) -> list[MemoryHit]:
        """Like :meth:`recall` with a ready query vector; fusion takes its words from
        ``lexical_query``."""
        return self._run(self._recall(None, vector, agent_id, memory_types, k, filter, mmr,
                                      lexical_weight, lexical_query))

    async def arecall_by_vector(self, vector: Vector, agent_id: str, *,
                                memory_types: MemoryTypes = None, k: int = 5,
                                filter: Mapping[str, Any] | None = None,
                                mmr: MMR | None = None, lexical_query: str | None = None,
                                lexical_weight: float = 0.0) -> list[MemoryHit]:
        return await self._runner.arun(
            self._recall(None, vector, agent_id, memory_types, k, filter, mmr, lexical_weight,
                         lexical_query))

    async def _get(self, ids: Sequence[str], agent_id: str) -> list[Memory]:
        await self._ensure_ready()
        return await self._primary.get(as_agent_id(agent_id), list(ids))

    def get(self, id: str, agent_id: str) -> Memory:
        """One memory by id; NotFound if this agent has no such memory."""
        found = self._run(self._get([id], agent_id))
        if not found:
            raise NotFound(f"no memory {id!r} for agent {agent_id!r}")
        return found[0]

    async def aget(self, id: str, agent_id: str) -> Memory:
        found = await self._runner.arun(self._get([id], agent_id))
        if not found:
            raise NotFound(f"no memory {id!r} for agent {agent_id!r}")
        return found[0]

    def get_many(self, ids: Sequence[str], agent_id: str) -> list[Memory]:
        """Memories by id in the order asked; ids this agent lacks are left out."""
        return self._run(self._get(ids, agent_id))

    async def aget_many(self, ids: Sequence[str], agent_id: str) -> list[Memory]:
        return await self._runner.arun(self._get(ids, agent_id))

    async def _list(self, agent_id: str, memory_types: MemoryTypes,
                    filter: Mapping[str, Any] | None, limit: int | None,
                    offset: int) -> list[Memory]:
        agent, types, where = as_agent_id(agent_id), _types(memory_types), parse_filter(filter)
        if limit is not None and (not isinstance(limit, int) or limit < 0):
            raise InvalidInput(f"limit must be a non-negative int or None, got {limit!r}")
        if not isinstance(offset, int) or offset < 0:
            raise InvalidInput(f"offset must be a non-negative int, got {offset!r}")
        await self._ensure_ready()
        return await self._primary.list_memories(agent, memory_types=types, where=where, limit=limit,
                                        offset=offset)

    def memories(self, agent_id: str, *, memory_types: MemoryTypes = None,
                 filter: Mapping[str, Any] | None = None, limit: int | None = None,
                 offset: int = 0) -> list[Memory]:
        """List an agent's memories, oldest first."""
        return self._run(self._list(agent_id, memory_types, filter, limit, offset))

    async def amemories(self, agent_id: str, *, memory_types: MemoryTypes = None,
                        filter: Mapping[str, Any] | None = None, limit: int | None = None,
                        offset: int = 0) -> list[Memory]:
        return await self._runner.arun(self._list(agent_id, memory_types, filter, limit, offset))

    # -- conversation history -------------------------------------------------------

    async def _add_turns(self, turns: Sequence[ChatTurn]) -> list[ChatTurn]:
        await self._ensure_ready()
        if turns:
            await self._primary.append_turns(list(turns))
        return list(turns)

    def add_turn(self, session_id: str, agent_id: str, role: str, content: str = "", *,
                 extra: Mapping[str, Any] | None = None) -> ChatTurn:
        """Append one message to a session's history."""
        turn = _model(ChatTurn, session_id=session_id, agent_id=agent_id, role=role,
                      content=content, extra=dict(extra or {}))
        return self._run(self._add_turns([turn]))[0]

    async def aadd_turn(self, session_id: str, agent_id: str, role: str, content: str = "", *,
                        extra: Mapping[str, Any] | None = None) -> ChatTurn:
        turn = _model(ChatTurn, session_id=session_id, agent_id=agent_id, role=role,
                      content=content, extra=dict(extra or {}))
        return (await self._runner.arun(self._add_turns([turn])))[0]

    def add_turns(self, turns: Sequence[ChatTurn]) -> list[ChatTurn]:
        """Append several messages, in order, in one write."""
        return self._run(self._add_turns(turns))

    async def aadd_turns(self, turns: Sequence[ChatTurn]) -> list[ChatTurn]:
        return await self._runner.arun(self._add_turns(turns))

    async def _history(self, session_id: str, agent_id: str, limit: int | None) -> list[ChatTurn]:
        if limit is not None and (not isinstance(limit, int) or limit < 1):
            raise InvalidInput(f"limit must be a positive int or None, got {limit!r}")
        await self._ensure_ready()
        return await self._primary.read_turns(as_agent_id(agent_id), session_id, limit)

    def history(self, session_id: str, agent_id: str, *, limit: int | None = None
                ) -> list[ChatTurn]:
        """A session's last ``limit`` turns (all when None), oldest first."""
        return self._run(self._history(session_id, agent_id, limit))

    async def ahistory(self, session_id: str, agent_id: str, *, limit: int | None = None
                       ) -> list[ChatTurn]:
        return await self._runner.arun(self._history(session_id, agent_id, limit))

    async def _clear_history(self, session_id: str, agent_id: str) -> int:
        await self._ensure_ready()
        return await self._primary.clear_turns(as_agent_id(agent_id), session_id)

    def clear_history(self, session_id: str, agent_id: str) -> int:
        """Delete a session's turns; returns how many."""
        return self._run(self._clear_history(session_id, agent_id))

    async def aclear_history(self, session_id: str, agent_id: str) -> int:
        return await self._runner.arun(self._clear_history(session_id, agent_id))

    async def _replace_history(self, session_id: str, agent_id: str,
                               turns: Sequence[ChatTurn]) -> list[ChatTurn]:
        agent = as_agent_id(agent_id)
        if any(t.agent_id != agent or t.session_id != session_id for t in turns):
            raise InvalidInput(f"every turn must belong to session {session_id!r} of agent "
                               f"{agent!r}")
        await self._ensure_ready()
        await self._primary.replace_turns(agent, session_id, list(turns))
        return list(turns)

    def replace_history(self, session_id: str, agent_id: str,
                        turns: Sequence[ChatTurn]) -> list[ChatTurn]:
        """Make ``turns`` the whole history of a session (one transaction in PostgreSQL).

        For edits a chat framework makes (drop or insert one message); in Chroma mode the new
        turns are written before the old are deleted, so a failure never loses both.
        """
        return self._run(self._replace_history(session_id, agent_id, turns))

    async def areplace_history(self, session_id: str, agent_id: str,
                               turns: Sequence[ChatTurn]) -> list[ChatTurn]:
        return await self._runner.arun(self._replace_history(session_id, agent_id, turns))

    async def _sessions(self, agent_id: str) -> list[str]:
        agent = as_agent_id(agent_id)
        await self._ensure_ready()
        return await self._primary.list_sessions(agent)

    def sessions(self, agent_id: str) -> list[str]:
        """The sessions of an agent that hold turns, first started first."""
        return self._run(self._sessions(agent_id))

    async def asessions(self, agent_id: str) -> list[str]:
        return await self._runner.arun(self._sessions(agent_id))

    # -- operations -----------------------------------------------------------------

    async def _stats(self, agent_id: str) -> MemoryStats:
        agent = as_agent_id(agent_id)
        await self._ensure_ready()
        counts = await self._primary.count(agent, memory_types=list(MemoryType))
        turns, sessions = await self._primary.turn_stats(agent)
        pending = await self._hybrid[0].pending_count(agent) if self.mode == "hybrid" else 0
        return MemoryStats(agent_id=agent, by_type={t.value: n for t, n in counts.items()},
                           total=sum(counts.values()), turns=turns, sessions=sessions,
                           pending_index=pending)

    def stats(self, agent_id: str) -> MemoryStats:
        """Counts per memory type, turns, sessions and memories waiting for the index."""
        return self._run(self._stats(agent_id))

    async def astats(self, agent_id: str) -> MemoryStats:
        return await self._runner.arun(self._stats(agent_id))

    async def _reindex(self, agent_id: str | None) -> int:
        if self.mode != "hybrid":
            raise ConfigError(f"reindex rebuilds Chroma from PostgreSQL: it needs hybrid mode, "
                              f"this memory is in {self.mode} mode")
        await self._ensure_ready()
        pg, chroma = self._hybrid
        await chroma.init(self.info)
        self._index_ready = True
        # Mark first, so recall serves from PostgreSQL while the index is rebuilt.
        await pg.mark_for_index(agent_id)
        await chroma.drop_memories(agent_id)
        return await pg.sync_index(chroma.upsert, agent_id=agent_id)

    def reindex(self, agent_id: str | None = None) -> int:
        """Rebuild the Chroma index from PostgreSQL (one agent, or all); returns rows indexed."""
        return self._run(self._reindex(agent_id))

    async def areindex(self, agent_id: str | None = None) -> int:
        return await self._runner.arun(self._reindex(agent_id))


def _shutdown(runner: LoopRunner, backends: list[Any]) -> None:
    """Close pools on the loop that owns them, then stop that loop (also at exit)."""
    if runner.closed:
        return

    async def close_all() -> None:
        for backend in backends:
            await backend.close()

    try:
        runner.run(close_all())
    finally:
        runner.close()
