"""Chroma backend: one collection per (agent, memory type), turns per agent, one registry.

A collection per agent and type keeps tenants apart by construction and makes every
nearest-neighbour search complete for that agent (no filtered-HNSW shortfall). Each
record keeps the exact :class:`Memory` as JSON in ``_am_record``; scalar metadata is also
copied flat next to the reserved ``_am_*`` keys so that filters can use it.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import re
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterable, Iterator, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any, TypeVar, cast

import numpy as np

from ..embeddings import spec_of
from ..errors import (
    ConfigError,
    DimensionMismatch,
    InvalidFilter,
    InvalidInput,
)
from ..filters import And, Comparison, FilterNode
from ..models import (
    MAX_METADATA_KEYS,
    ChatTurn,
    Memory,
    MemoryHit,
    MemoryTier,
    MemoryType,
    tier_for,
    utcnow,
)
from ..retrieval.lexical import bm25_top
from ..settings import redact_url
from ._chroma_client import chroma_call, connect, display_location
from ._vectors import as_matrix
from .base import ExpiredCounts, Mode, StoreInfo, StoreSize, Vector, Vectors

if TYPE_CHECKING:
    from chromadb.api import ClientAPI
    from chromadb.api.models.Collection import Collection
    from chromadb.api.types import QueryResult

__all__ = ["ChromaBackend", "to_chroma_where"]

T = TypeVar("T")
Where = dict[str, Any]
Row = tuple[str, str | None, dict[str, Any]]  # (id, document, metadata)

SCHEMA_VERSION = 1
ABSENT_TTL = 2.0  # seconds a collection found missing is taken to stay missing
NEVER = 253402300799.0  # 9999-12-31T23:59:59Z: the `_am_expires_at` of memories that never expire
_PREFIX = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,31}$")  # Chroma names start with a letter/digit
_FLAT_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_\-]{0,63}$")  # the keys a filter can name
_I64 = (-(2**63), 2**63 - 1)
_TURN_SEP = "/"  # safe whatever the session id holds: the seq suffix has a fixed width
_MEMORY_TYPES = "|".join(t.value for t in MemoryType)
# A collection written while it is queried can answer before its segment exists, or with a
# hit whose metadata is not there yet (Chroma 1.5): such a query is asked again.
_UNSETTLED = "Nothing found on disk"
_SETTLE_ATTEMPTS = 5
_ALL = ("documents", "metadatas")

_seq_lock = threading.Lock()
_last_seq = 0  # process-wide, so that every backend instance hands out increasing seqs


def _epoch(value: datetime) -> float:
    return value.timestamp()


def _value(value: Any) -> Any:
    """A filter value as Chroma takes it: datetimes as epoch seconds, number lists of one type."""
    if isinstance(value, datetime):
        return _epoch(value)
    if isinstance(value, int) and not _I64[0] <= value <= _I64[1]:
        raise InvalidFilter(f"Chroma compares integers of 64 bits only, got {value}")
    if isinstance(value, list):
        items = [_value(v) for v in value]
        # Chroma rejects [1, 2.5]; 1.0 matches a stored 1, so widen such lists to floats.
        if any(isinstance(v, float) for v in items) and not any(isinstance(v, bool) for v in items):
            items = [float(v) for v in items]
        return items
    return value


def _comparison(node: Comparison) -> Where:
    if not node.is_column:
        if node.field.startswith("_am_"):
            raise InvalidFilter(f"filter field {node.field!r} is reserved by the Chroma backend: "
                                "metadata keys starting with '_am_' are kept but cannot be filtered")
        return {node.field: {node.op: _value(node.value)}}
    key = f"_am_{node.field}"
    clause: Where = {key: {node.op: _value(node.value)}}
    if node.field == "expires_at" and node.op not in ("$ne", "$nin"):
        # A memory without expiry stores NEVER; compare it like a missing (NULL) column.
        return {"$and": [clause, {key: {"$ne": NEVER}}]}
    return clause


def to_chroma_where(node: FilterNode | None) -> Where | None:
    """Translate a parsed filter into a Chroma ``where`` dict (None for no filter)."""
    if node is None:
        return None
    if isinstance(node, Comparison):
        return _comparison(node)
    children = [cast(Where, to_chroma_where(child)) for child in node.children]
    if len(children) == 1:  # Chroma wants at least two children under $and / $or
        return children[0]
    return {"$and" if isinstance(node, And) else "$or": children}


def _chunks(items: Sequence[T], size: int) -> Iterator[Sequence[T]]:
    for start in range(0, len(items), size):
        yield items[start:start + size]


def _unique(items: Iterable[T]) -> list[T]:
    return list(dict.fromkeys(items))


def _types(memory_types: Sequence[MemoryType]) -> list[MemoryType]:
    return _unique(MemoryType(t) for t in memory_types)


def _flat(value: Any) -> bool:
    if isinstance(value, bool | str | float):
        return True
    return isinstance(value, int) and _I64[0] <= value <= _I64[1]


def _to_metadata(m: Memory) -> dict[str, Any]:
    """The Chroma metadata of a memory: flat filterable keys plus the exact record as JSON."""
    meta: dict[str, Any] = {}
    for key, value in m.metadata.items():
        # Keys a filter cannot name, or that clash with ours, live only in `_am_record`:
        # every memory valid in PostgreSQL is storable here too.
        if _FLAT_KEY.match(key) and not key.startswith("_am_") and _flat(value):
            meta[key] = value
            if len(meta) == MAX_METADATA_KEYS:
                # The facade never writes more; a row older than the limit (via reindex or
                # restore) copies no more either: thousands of keys break Chroma's compaction.
                break
    record = {
        "metadata": m.metadata, "source_ids": m.source_ids, "user_id": m.user_id,
        "session_id": m.session_id, "importance": m.importance, "tier": _tier(m).value,
        "created_at": m.created_at.isoformat(), "updated_at": m.updated_at.isoformat(),
        "expires_at": None if m.expires_at is None else m.expires_at.isoformat(),
    }
    meta.update({
        "_am_id": m.id, "_am_importance": float(m.importance), "_am_tier": _tier(m).value,
        "_am_created_at": _epoch(m.created_at), "_am_updated_at": _epoch(m.updated_at),
        "_am_expires_at": NEVER if m.expires_at is None else _epoch(m.expires_at),
        "_am_record": json.dumps(record),  # ASCII: survives any transport
    })
    if m.user_id is not None:  # Chroma cannot store None
        meta["_am_user_id"] = m.user_id
    if m.session_id is not None:
        meta["_am_session_id"] = m.session_id
    return meta


def _unexpired(where: Where | None, now: float) -> Where:
    """``where`` (None: everything) narrowed to memories not expired at ``now``."""
    alive: Where = {"_am_expires_at": {"$gt": now}}
    return alive if where is None else {"$and": [where, alive]}


def _expired(now: float) -> Where:
    """The Chroma ``where`` of memories expired at ``now`` (epoch seconds)."""
    return {"$and": [{"_am_expires_at": {"$lte": now}}, {"_am_expires_at": {"$ne": NEVER}}]}


def _tier(m: Memory) -> MemoryTier:
    return m.tier or tier_for(m.importance)


def _to_memory(agent_id: str, memory_type: MemoryType, row: Row) -> Memory:
    memory_id, document, meta = row
    r = json.loads(meta["_am_record"])
    expires = r["expires_at"]
    return Memory.from_store(
        id=memory_id, content=document or "", memory_type=memory_type, agent_id=agent_id,
        user_id=r["user_id"], session_id=r["session_id"], importance=r["importance"],
        tier=r.get("tier"),  # records written before tiers derive theirs from importance
        metadata=r["metadata"], source_ids=r["source_ids"],
        created_at=datetime.fromisoformat(r["created_at"]),
        updated_at=datetime.fromisoformat(r["updated_at"]),
        expires_at=None if expires is None else datetime.fromisoformat(expires))


class _Hits(list[tuple[float, str, Memory, "list[float] | None"]]):
    """Nearest hits of one collection, and how many expired ones were dropped."""

    expired: int = 0


def _next_seqs(n: int) -> range:
    """``n`` sequence numbers, larger than any handed out before in this process."""
    global _last_seq
    with _seq_lock:
        start = max(time.time_ns(), _last_seq + 1)
        _last_seq = start + n - 1
    return range(start, start + n)


class ChromaBackend:
    """Memories and turns in Chroma: a server URL (``http(s)://``) or a local directory.

    Writes are atomic per Chroma batch (``get_max_batch_size()`` records), not per call.
    """

    mode: Mode = "chroma"

    def __init__(self, location: str, *, prefix: str = "agentmem",
                 timeout: float = 30.0) -> None:
        if not isinstance(prefix, str) or not _PREFIX.match(prefix):
            raise ConfigError(f"invalid Chroma prefix {prefix!r}: use 1 to 32 letters, digits, "
                              "'-' or '_', starting with a letter or digit")
        if not isinstance(location, str) or not location.strip():
            raise ConfigError("the Chroma location must be a server URL or a directory path")
        if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or not timeout > 0:
            raise ConfigError(f"the Chroma timeout must be a positive number of seconds, "
                              f"got {timeout!r}")
        self._target = location
        self.timeout = float(timeout)  # seconds, every HTTP call of a server client
        self.location = display_location(location)
        self.prefix = prefix
        self._client_obj: ClientAPI | None = None
        self._lock = threading.Lock()
        self._dimension: int | None = None
        # Collection handles by name, and names known absent until a time (monotonic):
        # a lookup per call and type cost more than the query itself.
        self._handles: dict[str, Collection] = {}
        self._absent: dict[str, float] = {}
        self._max_batch: int | None = None

    def __repr__(self) -> str:
        return f"ChromaBackend({redact_url(self._target)!r}, prefix={self.prefix!r})"

    # -- plumbing ---------------------------------------------------------------------------

    def _client(self) -> ClientAPI:
        with self._lock:
            if self._client_obj is None:
                self._client_obj = connect(self._target, timeout=self.timeout)
            return self._client_obj

    async def _run(self, fn: Callable[..., T], *args: Any) -> T:
        return await asyncio.to_thread(chroma_call, self._target, self._retrying, fn, *args)

    def _retrying(self, fn: Callable[..., T], *args: Any) -> T:
        """Run ``fn``; if a cached collection was deleted meanwhile (another process's
        reindex), forget every handle and run it once more."""
        from chromadb.errors import NotFoundError

        try:
            return fn(*args)
        except NotFoundError:
            self._forget_handles()
            return fn(*args)

    def _forget_handles(self) -> None:
        self._handles.clear()
        self._absent.clear()

    def _name(self, kind: str, agent_id: str) -> str:
        return f"{self.prefix}-{kind}-{hashlib.sha256(agent_id.encode()).hexdigest()[:32]}"

    @property
    def _registry_name(self) -> str:
        return f"{self.prefix}-registry"

    def _existing(self, name: str, *, remember_absence: bool = True) -> Collection | None:
        """The collection if it exists; an absence is remembered for ``ABSENT_TTL`` seconds
        (another process creating it meanwhile is seen after that)."""
        from chromadb.errors import NotFoundError

        if name in self._handles:
            return self._handles[name]
        if self._absent.get(name, 0.0) > time.monotonic():
            return None
        try:
            col = self._client().get_collection(name, embedding_function=None)
        except NotFoundError:
            if remember_absence:
                self._absent[name] = time.monotonic() + ABSENT_TTL
            return None
        self._handles[name] = col
        return col

    def _created(self, name: str, metadata: dict[str, Any], space: str) -> Collection:
        col = self._handles.get(name)
        if col is None:
            col = self._client().get_or_create_collection(
                name, metadata=metadata, configuration=cast(Any, {"hnsw": {"space": space}}),
                embedding_function=None)
            self._handles[name] = col
            self._absent.pop(name, None)
        return col

    def _memories(self, agent_id: str, memory_type: MemoryType, create: bool = False
                  ) -> Collection | None:
        name = self._name(memory_type.value, agent_id)
        if not create:
            return self._existing(name)
        return self._created(name, {"agent_id": agent_id, "memory_type": memory_type.value},
                             "cosine")

    def _turns(self, agent_id: str, create: bool = False) -> Collection | None:
        name = self._name("turns", agent_id)
        if not create:
            return self._existing(name)
        return self._created(name, {"agent_id": agent_id}, "l2")

    def _batch(self) -> int:
        if self._max_batch is None:
            self._max_batch = int(self._client().get_max_batch_size())
        return self._max_batch

    def _rows(self, col: Collection, *, ids: Sequence[str] | None = None,
              where: Where | None = None, include: Sequence[str] = _ALL) -> list[Row]:
        """Records of a collection by ids and/or filter, fetched in batches of ids."""
        chunks: Iterable[Sequence[str] | None] = (
            [None] if ids is None else _chunks(_unique(ids), self._batch()))
        rows: list[Row] = []
        for chunk in chunks:
            got = col.get(ids=None if chunk is None else list(chunk),
                          where=cast(Any, where), include=cast(Any, list(include)))
            n = len(got["ids"])
            docs: Sequence[str | None] = got.get("documents") or [None] * n
            metas: Sequence[Any] = got.get("metadatas") or [{}] * n
            rows.extend((i, d, dict(m or {})) for i, d, m in zip(got["ids"], docs, metas,
                                                                 strict=True))
        return rows

    def _delete_rows(self, col: Collection, *, ids: Sequence[str] | None = None,
                     where: Where | None = None) -> int:
        """Delete what matches and say how many; looks the ids up first to count exactly."""
        found = [row[0] for row in self._rows(col, ids=ids, where=where, include=())]
        for chunk in _chunks(found, self._batch()):
            col.delete(ids=list(chunk))
        return len(found)

    # -- registry -------------------------------------------------------------------------

    def _accept(self, meta: dict[str, Any] | None, info: StoreInfo) -> None:
        meta = meta or {}
        stored = (meta.get("model_id"), meta.get("dimension"))
        if int(meta.get("schema_version", SCHEMA_VERSION)) > SCHEMA_VERSION:
            raise ConfigError(f"the Chroma store {self.prefix!r} at {self.location} was made by a "
                              "newer agentmem: upgrade agentmem")
        if stored != (info.model_id, info.dimension):
            raise DimensionMismatch(
                f"the Chroma store {self.prefix!r} at {self.location} was built with model "
                f"{stored[0]!r} (dimension {stored[1]}), but this memory uses model "
                f"{info.model_id!r} (dimension {info.dimension}): open it with the original "
                f"model (AGENTMEM_EMBEDDINGS={spec_of(str(stored[0]), int(stored[1] or 0))}), "
                "or use a new prefix or directory and reindex or re-import")
        self._dimension = info.dimension

    def _init(self, info: StoreInfo) -> None:
        if info.dimension < 1:
            raise InvalidInput(f"dimension must be at least 1, got {info.dimension}")
        meta = {"model_id": info.model_id, "dimension": info.dimension,
                "schema_version": SCHEMA_VERSION}
        # get_or_create keeps an existing collection's metadata, so a race is harmless.
        col = self._client().get_or_create_collection(
            self._registry_name, metadata=meta, embedding_function=None)
        self._handles[self._registry_name] = col
        self._accept(dict(col.metadata or {}), info)

    def _registry(self) -> dict[str, Any]:
        col = self._existing(self._registry_name, remember_absence=False)
        if col is None:
            raise ConfigError(f"the Chroma store {self.prefix!r} at {self.location} is not "
                              "initialised: run `agentmem migrate` or call memory.init()")
        return dict(col.metadata or {})

    def _check(self, info: StoreInfo) -> None:
        self._accept(self._registry(), info)

    def _dim(self) -> int:
        if self._dimension is None:
            self._dimension = int(self._registry()["dimension"])
        return self._dimension

    async def init(self, info: StoreInfo) -> None:
        """Create the registry or verify it matches ``info``; idempotent."""
        await self._run(self._init, info)

    async def check(self, info: StoreInfo) -> None:
        """Raise ConfigError if not initialised, DimensionMismatch if built differently."""
        await self._run(self._check, info)

    # -- memories -------------------------------------------------------------------------

    def _upsert(self, memories: Sequence[Memory], vectors: Vectors,
                lexical_texts: Sequence[str] | None) -> None:
        if len(memories) != len(vectors):
            raise InvalidInput(f"got {len(memories)} memories but {len(vectors)} vectors")
        if lexical_texts is not None and len(lexical_texts) != len(memories):
            raise InvalidInput(f"got {len(memories)} memories but {len(lexical_texts)} "
                               "lexical texts")
        if not memories:
            return
        matrix = as_matrix(vectors, self._dim())  # validate everything first
        latest: dict[tuple[str, str], tuple[Memory, np.ndarray, dict[str, Any]]] = {}
        for i, (m, vec) in enumerate(zip(memories, matrix, strict=True)):
            meta = _to_metadata(m)
            if lexical_texts is not None and lexical_texts[i] != m.content:
                meta["_am_lexical"] = lexical_texts[i]
            latest[(m.agent_id, m.id)] = (m, vec, meta)
        groups: dict[tuple[str, MemoryType], list[tuple[Memory, np.ndarray, dict[str, Any]]]] = {}
        for m, vec, meta in latest.values():
            groups.setdefault((m.agent_id, m.memory_type), []).append((m, vec, meta))
        size = self._batch()
        for (agent_id, memory_type), rows in groups.items():
            col = cast("Collection", self._memories(agent_id, memory_type, create=True))
            for chunk in _chunks(rows, size):
                col.upsert(ids=[m.id for m, _, _ in chunk],
                           embeddings=np.stack([vec for _, vec, _ in chunk]),
                           documents=[m.content for m, _, _ in chunk],
                           metadatas=[meta for _, _, meta in chunk])
        # An id is unique per agent across types: drop copies left under another type
        # (after writing, so that a failure leaves a duplicate rather than a loss).
        for (agent_id, memory_type), rows in groups.items():
            for other in MemoryType:
                stale = None if other is memory_type else self._memories(agent_id, other)
                if stale is not None:
                    self._delete_rows(stale, ids=[m.id for m, _, _ in rows])

    async def upsert(self, memories: Sequence[Memory], vectors: Vectors, *,
                     lexical_texts: Sequence[str] | None = None) -> None:
        """Insert or replace memories by (agent_id, id); everything is validated first.

        Atomic per Chroma batch only: a failure part-way can leave earlier batches written.
        A lexical text other than the content is kept in the record's ``_am_lexical``.
        """
        await self._run(self._upsert, memories, vectors, lexical_texts)

    def _query(self, agent_id: str, vector: Vector, k: int, memory_types: Sequence[MemoryType],
               where: FilterNode | None, with_vectors: bool) -> list[MemoryHit]:
        if k < 1:
            raise InvalidInput(f"k must be at least 1, got {k}")
        query = as_matrix([vector], self._dim(), "query vector")[0]
        user = to_chroma_where(where)
        include = ["documents", "metadatas", "distances"] + (["embeddings"] if with_vectors else [])
        found: list[tuple[float, str, Memory, list[float] | None]] = []
        now = time.time()
        for memory_type in _types(memory_types):
            col = self._memories(agent_id, memory_type)
            if col is None:
                continue
            # Recall skips expired memories. Filtering them in Chroma costs far more than the
            # search (a `where` on every query), and most memories never expire: drop them
            # here, and only when that leaves the answer short, ask again with the filter.
            hits = self._nearest(col, agent_id, memory_type, query, k, user, include, now)
            if len(hits) < k and hits.expired:
                hits = self._nearest(col, agent_id, memory_type, query, k,
                                     _unexpired(user, now), include, now)
            found.extend(hits)
        found.sort(key=lambda hit: (hit[0], hit[1]))
        return [MemoryHit.model_construct(memory=m, score=1.0 - dist, vector=vec)
                for dist, _, m, vec in found[:k]]

    @staticmethod
    def _settled_query(col: Collection, query: Any, k: int, where: Where | None,
                       include: list[str]) -> QueryResult:
        """``col.query``, asked again (briefly) while a collection being written right now
        answers half-made: no segment on disk yet, or a hit without its metadata."""
        for attempt in range(_SETTLE_ATTEMPTS):
            last = attempt == _SETTLE_ATTEMPTS - 1
            try:
                res = col.query(query_embeddings=cast(Any, [query]), n_results=k,
                                where=cast(Any, where), include=cast(Any, include))
            except Exception as exc:  # chromadb's own; anything else is raised as it is
                if last or _UNSETTLED not in str(exc):
                    raise
            else:
                metas = (res["metadatas"] or [[]])[0]
                if last or all(m is not None for m in metas):
                    return res
            time.sleep(0.02 * 2 ** attempt)
        raise AssertionError("unreachable: the last attempt returns or raises")

    def _nearest(self, col: Collection, agent_id: str, memory_type: MemoryType, query: Any,
                 k: int, where: Where | None, include: list[str], now: float) -> _Hits:
        res = self._settled_query(col, query, k, where, include)
        docs, metas = (res["documents"] or [[]])[0], (res["metadatas"] or [[]])[0]
        ids, dists = res["ids"][0], (res["distances"] or [[]])[0]
        vecs = ([list(map(float, v)) for v in res["embeddings"][0]]  # type: ignore[index]
                if "embeddings" in include else [None] * len(ids))
        hits = _Hits()
        for memory_id, doc, meta, dist, vec in zip(ids, docs, metas, dists, vecs, strict=True):
            if meta is None:  # still being written after every retry: not there yet
                continue
            if float(cast(float, meta["_am_expires_at"])) <= now:
                hits.expired += 1
                continue
            memory = _to_memory(agent_id, memory_type, (memory_id, doc, dict(meta)))
            hits.append((float(dist), memory_id, memory, vec))
        return hits

    async def query(self, agent_id: str, vector: Vector, *, k: int,
                    memory_types: Sequence[MemoryType], where: FilterNode | None = None,
                    with_vectors: bool = False) -> list[MemoryHit]:
        """The ``k`` nearest unexpired memories of one agent, closest first (score 1 - distance)."""
        return await self._run(self._query, agent_id, vector, k, memory_types, where, with_vectors)

    def _rows_of(self, agent_id: str, memory_type: MemoryType, *,
                 ids: Sequence[str] | None = None, where: Where | None = None) -> list[Row]:
        col = self._memories(agent_id, memory_type)
        return [] if col is None else self._rows(col, ids=ids, where=where)

    def _read(self, agent_id: str, memory_type: MemoryType, *, ids: Sequence[str] | None = None,
              where: Where | None = None) -> list[Memory]:
        return [_to_memory(agent_id, memory_type, row)
                for row in self._rows_of(agent_id, memory_type, ids=ids, where=where)]

    def _search_text(self, agent_id: str, text: str, k: int, memory_types: Sequence[MemoryType],
                     where: FilterNode | None, with_vectors: bool) -> list[MemoryHit]:
        # Chroma has no ranked full-text search: rank the agent's matching memories by BM25.
        chroma_where = _unexpired(to_chroma_where(where), time.time())
        rows = [(t, row) for t in _types(memory_types)
                for row in self._rows_of(agent_id, t, where=chroma_where)]
        rows.sort(key=lambda tr: tr[1][0])  # ties ranked by id, as in PostgreSQL
        texts = [str(row[2].get("_am_lexical") or row[1] or "") for _, row in rows]
        top = bm25_top(text, texts, k)
        vectors = self._vectors_of(agent_id, [rows[i] for i, _ in top]) if with_vectors else {}
        return [MemoryHit(memory=_to_memory(agent_id, *rows[i]), score=score,
                          vector=vectors.get((rows[i][0], rows[i][1][0])))
                for i, score in top]

    def _vectors_of(self, agent_id: str, found: Sequence[tuple[MemoryType, Row]]
                    ) -> dict[tuple[MemoryType, str], list[float]]:
        """The stored vectors of the records found, by (memory type, id): the top hits only."""
        out: dict[tuple[MemoryType, str], list[float]] = {}
        for memory_type in dict.fromkeys(t for t, _ in found):
            col = self._memories(agent_id, memory_type)
            ids = [row[0] for t, row in found if t == memory_type]
            if col is None or not ids:
                continue
            for chunk in _chunks(ids, self._batch()):
                got = col.get(ids=list(chunk), include=cast(Any, ["embeddings"]))
                embeddings = got["embeddings"] if got["embeddings"] is not None else []
                out.update(((memory_type, i), list(map(float, v)))
                           for i, v in zip(got["ids"], embeddings, strict=True))
        return out

    def _preceding(self, agent_id: str, session_id: str, memory_type: MemoryType,
                   before: Sequence[datetime], n: int) -> list[Memory]:
        if not before or n < 1:
            return []
        session = self._read(agent_id, memory_type,
                             where=_unexpired({"_am_session_id": session_id}, time.time()))
        session.sort(key=lambda m: (m.created_at, m.id))
        chosen: dict[str, Memory] = {}
        for at in before:
            earlier = [m for m in session if m.created_at < at]
            chosen.update((m.id, m) for m in earlier[-n:])
        return list(chosen.values())

    async def preceding(self, agent_id: str, session_id: str, memory_type: MemoryType, *,
                        before: Sequence[datetime], n: int) -> list[Memory]:
        """For each time in ``before``, the ``n`` memories of the session created last before it."""
        return await self._run(self._preceding, agent_id, session_id, memory_type, before, n)

    async def search_text(self, agent_id: str, text: str, *, k: int,
                          memory_types: Sequence[MemoryType], where: FilterNode | None = None,
                          with_vectors: bool = False) -> list[MemoryHit]:
        """Lexical search: BM25 over this agent's matching memories (see ``bm25_top``)."""
        return await self._run(self._search_text, agent_id, text, k, memory_types, where,
                               with_vectors)

    def _get(self, agent_id: str, ids: Sequence[str]) -> list[Memory]:
        wanted = _unique(ids)
        if not wanted:
            return []
        now = utcnow()
        found = {m.id: m for t in MemoryType for m in self._read(agent_id, t, ids=wanted)
                 if m.alive_at(now)}
        return [found[i] for i in wanted if i in found]

    async def get(self, agent_id: str, ids: Sequence[str]) -> list[Memory]:
        """Memories by id, in the order asked (each once); missing ids are left out."""
        return await self._run(self._get, agent_id, ids)

    def _list(self, agent_id: str, memory_types: Sequence[MemoryType], where: FilterNode | None,
              limit: int | None, offset: int) -> list[Memory]:
        if offset < 0 or (limit is not None and limit < 0):
            raise InvalidInput(f"limit and offset must not be negative, got {limit} and {offset}")
        chroma_where, now = to_chroma_where(where), utcnow()
        found = [m for t in _types(memory_types)
                 for m in self._read(agent_id, t, where=chroma_where) if m.alive_at(now)]
        found.sort(key=lambda m: (m.created_at, m.id))
        return found[offset:None if limit is None else offset + limit]

    def _delete(self, agent_id: str, ids: Sequence[str] | None,
                memory_types: Sequence[MemoryType], where: FilterNode | None) -> int:
        chroma_where = to_chroma_where(where)
        if ids is not None and not ids:
            return 0
        total = 0
        for memory_type in _types(memory_types):
            col = self._memories(agent_id, memory_type)
            if col is not None:
                total += self._delete_rows(col, ids=ids, where=chroma_where)
        return total

    async def delete(self, agent_id: str, *, ids: Sequence[str] | None = None,
                     memory_types: Sequence[MemoryType], where: FilterNode | None = None) -> int:
        """Delete by ids and/or filter (all of those types when neither); returns how many."""
        return await self._run(self._delete, agent_id, ids, memory_types, where)

    def _count(self, agent_id: str, memory_types: Sequence[MemoryType],
               where: FilterNode | None) -> dict[MemoryType, int]:
        chroma_where, now = to_chroma_where(where), time.time()
        counts: dict[MemoryType, int] = {}
        for memory_type in _types(memory_types):
            col = self._memories(agent_id, memory_type)
            if col is None:
                counts[memory_type] = 0
            elif chroma_where is None:  # most memories never expire: count those that have
                counts[memory_type] = col.count() - len(
                    self._rows(col, where=_expired(now), include=()))
            else:
                counts[memory_type] = len(self._rows(col, where=_unexpired(chroma_where, now),
                                                     include=()))
        return counts

    async def count(self, agent_id: str, *, memory_types: Sequence[MemoryType],
                    where: FilterNode | None = None) -> dict[MemoryType, int]:
        """How many unexpired memories of each requested type match."""
        return await self._run(self._count, agent_id, memory_types, where)

    # -- turns ----------------------------------------------------------------------------

    def _add_turns(self, turns: Sequence[ChatTurn]) -> None:
        by_agent: dict[str, list[tuple[int, ChatTurn]]] = {}
        for seq, turn in zip(_next_seqs(len(turns)), turns, strict=True):
            by_agent.setdefault(turn.agent_id, []).append((seq, turn))
        size = self._batch()
        for agent_id, items in by_agent.items():
            col = cast("Collection", self._turns(agent_id, create=True))
            for chunk in _chunks(items, size):
                col.upsert(
                    ids=[f"{t.session_id}{_TURN_SEP}{seq:020d}" for seq, t in chunk],
                    embeddings=cast(Any, [[1.0]] * len(chunk)),  # turns are never searched
                    documents=[t.content for _, t in chunk],
                    metadatas=[{"session_id": t.session_id, "seq": seq, "role": t.role,
                                "_am_turn": json.dumps({"extra": t.extra,
                                                        "created_at": t.created_at.isoformat()})}
                               for seq, t in chunk])

    async def add_turns(self, turns: Sequence[ChatTurn]) -> None:
        """Append turns in the order given; seqs grow across calls and processes (ns clock)."""
        if turns:
            await self._run(self._add_turns, turns)

    def _history(self, agent_id: str, session_id: str, limit: int | None) -> list[ChatTurn]:
        if limit is not None and limit < 0:
            raise InvalidInput(f"limit must not be negative, got {limit}")
        col = self._turns(agent_id)
        rows = [] if col is None else self._rows(col, where={"session_id": session_id})
        rows.sort(key=lambda row: int(row[2]["seq"]))
        if limit is not None:
            rows = rows[max(len(rows) - limit, 0):]
        return [ChatTurn.model_validate({
            **json.loads(meta["_am_turn"]), "session_id": meta["session_id"],
            "agent_id": agent_id, "role": meta["role"], "content": doc or ""})
            for _, doc, meta in rows]

    async def history(self, agent_id: str, session_id: str, limit: int | None = None
                         ) -> list[ChatTurn]:
        """The last ``limit`` turns of a session (all when None), oldest first."""
        return await self._run(self._history, agent_id, session_id, limit)

    def _clear_history(self, agent_id: str, session_id: str) -> int:
        col = self._turns(agent_id)
        return 0 if col is None else self._delete_rows(col, where={"session_id": session_id})

    async def clear_history(self, agent_id: str, session_id: str) -> int:
        """Delete a session's turns; returns how many."""
        return await self._run(self._clear_history, agent_id, session_id)

    def _replace_history(self, agent_id: str, session_id: str, turns: Sequence[ChatTurn]) -> None:
        # Chroma has no transactions: write the new turns first, then drop the old ones, so
        # a failure in between leaves both (visible, recoverable) rather than neither.
        col = self._turns(agent_id)
        old = [] if col is None else [
            row[0] for row in self._rows(col, where={"session_id": session_id}, include=())]
        if turns:
            self._add_turns(turns)
        col = self._turns(agent_id)
        for chunk in _chunks(old, self._batch()):
            cast("Collection", col).delete(ids=list(chunk))

    async def replace_history(self, agent_id: str, session_id: str,
                            turns: Sequence[ChatTurn]) -> None:
        """Replace a session's history: new turns are written before the old are deleted."""
        await self._run(self._replace_history, agent_id, session_id, turns)

    def _sessions(self, agent_id: str) -> list[str]:
        col = self._turns(agent_id)
        rows = [] if col is None else self._rows(col, include=("metadatas",))
        first: dict[str, int] = {}
        for _, _, meta in rows:
            sid, seq = str(meta["session_id"]), int(meta["seq"])
            first[sid] = min(seq, first.get(sid, seq))
        return sorted(first, key=lambda sid: first[sid])

    async def sessions(self, agent_id: str) -> list[str]:
        """Sessions holding turns, in the order they started."""
        return await self._run(self._sessions, agent_id)

    def _history_stats(self, agent_id: str) -> tuple[int, int]:
        col = self._turns(agent_id)
        rows = [] if col is None else self._rows(col, include=("metadatas",))
        return len(rows), len({meta["session_id"] for _, _, meta in rows})

    async def history_stats(self, agent_id: str) -> tuple[int, int]:
        """(turns, distinct sessions) stored for an agent."""
        return await self._run(self._history_stats, agent_id)

    # -- administration -------------------------------------------------------------------

    def _memory_collections(self, agent_id: str | None) -> list[tuple[str, MemoryType, Collection]]:
        """(agent_id, type, collection) of one agent's memory collections, or of all."""
        if agent_id is not None:
            found = ((agent_id, t, self._memories(agent_id, t)) for t in MemoryType)
            return [(a, t, c) for a, t, c in found if c is not None]
        pattern = re.compile(rf"^{re.escape(self.prefix)}-({_MEMORY_TYPES})-[0-9a-f]{{32}}$")
        out = []
        for col in self._client().list_collections():
            if pattern.match(col.name):
                col = self._client().get_collection(col.name, embedding_function=None)
                meta = col.metadata or {}
                out.append((str(meta["agent_id"]), MemoryType(meta["memory_type"]), col))
        return sorted(out, key=lambda item: (item[0], item[1].value))

    def _agents(self) -> list[str]:
        return sorted({owner for owner, _, _ in self._memory_collections(None)}
                      | {owner for owner, _ in self._turn_collections(None)})

    async def agents(self) -> list[str]:
        """Every agent holding memories or conversation turns, sorted."""
        return await self._run(self._agents)

    def _scan_page(self, col: Collection, agent_id: str, memory_type: MemoryType, offset: int,
                   limit: int) -> tuple[list[Memory], list[list[float]]]:
        got = col.get(limit=limit, offset=offset,
                      include=cast(Any, ["documents", "metadatas", "embeddings"]))
        docs, metas = got["documents"] or [], got["metadatas"] or []
        embeddings = got["embeddings"] if got["embeddings"] is not None else []
        memories = [_to_memory(agent_id, memory_type, (i, d, dict(m)))
                    for i, d, m in zip(got["ids"], docs, metas, strict=True)]
        return memories, [list(map(float, v)) for v in embeddings]

    async def scan(self, agent_id: str | None = None, *, batch_size: int = 1000
                   ) -> AsyncIterator[tuple[list[Memory], list[list[float]]]]:
        """Every memory (of one agent, or all) with its vector, collection by collection."""
        for owner, memory_type, col in await self._run(self._memory_collections, agent_id):
            offset = 0
            while True:
                memories, vectors = await self._run(self._scan_page, col, owner, memory_type,
                                                    offset, batch_size)
                if not memories:
                    break
                yield memories, vectors
                offset += len(memories)

    def _set_expiry(self, agent_id: str, ids: Sequence[str], expires_at: datetime | None) -> int:
        changed, alive = 0, _unexpired(None, time.time())
        for memory_type in MemoryType:
            col = self._memories(agent_id, memory_type)
            live = [] if col is None or not ids else self._rows(col, ids=ids, where=alive)
            for chunk in _chunks(live, self._batch()):
                metas = []
                for _, _, meta in chunk:
                    record = json.loads(meta["_am_record"])
                    record["expires_at"] = None if expires_at is None else expires_at.isoformat()
                    metas.append({**meta, "_am_record": json.dumps(record), "_am_expires_at":
                                  NEVER if expires_at is None else _epoch(expires_at)})
                cast("Collection", col).update(ids=[i for i, _, _ in chunk],
                                               metadatas=cast(Any, metas))
            changed += len(live)
        return changed

    async def set_expiry(self, agent_id: str, ids: Sequence[str],
                         expires_at: datetime | None) -> int:
        """Give unexpired memories a new expiry (None: never); returns how many changed."""
        return await self._run(self._set_expiry, agent_id, ids, expires_at)

    def _expired_counts(self, agent_id: str | None) -> ExpiredCounts:
        expired = _expired(time.time())
        counts = {(a, t): len(self._rows(col, where=expired, include=()))
                  for a, t, col in self._memory_collections(agent_id)}
        return {key: n for key, n in counts.items() if n}

    async def expired_counts(self, agent_id: str | None = None) -> ExpiredCounts:
        """How many memories have expired, per agent and type (of one agent, or all)."""
        return await self._run(self._expired_counts, agent_id)

    def _delete_expired(self, agent_id: str | None, archive: bool,
                        batch_size: int) -> ExpiredCounts:
        expired, total = _expired(time.time()), ExpiredCounts()
        for owner, memory_type, col in self._memory_collections(agent_id):
            shelf = (self._created(self._name(f"archive_{memory_type.value}", owner),
                                   {"agent_id": owner, "memory_type": memory_type.value,
                                    "archive": True}, "cosine") if archive else None)
            while True:
                got = col.get(where=cast(Any, expired), limit=batch_size,
                              include=cast(Any, ["documents", "metadatas", "embeddings"]
                                           if archive else []))
                if not got["ids"]:
                    break
                if shelf is not None:  # copy first: a failure leaves a copy, never a loss
                    stamp = time.time()
                    shelf.upsert(ids=got["ids"], documents=got["documents"],
                                 embeddings=cast(Any, got["embeddings"]),
                                 metadatas=cast(Any, [{**m, "_am_archived_at": stamp}
                                                      for m in got["metadatas"] or []]))
                col.delete(ids=got["ids"])
                key = (owner, memory_type)
                total[key] = total.get(key, 0) + len(got["ids"])
        return total

    async def delete_expired(self, agent_id: str | None = None, *, archive: bool = False,
                             batch_size: int = 1000) -> ExpiredCounts:
        """Delete (or copy to the agent's archive collections, then delete) expired
        memories, ``batch_size`` at a time; how many, per agent and type."""
        if batch_size < 1:
            raise InvalidInput(f"batch_size must be positive, got {batch_size}")
        return await self._run(self._delete_expired, agent_id, archive, batch_size)

    def _archived(self, agent_id: str, memory_type: MemoryType) -> list[Memory]:
        col = self._existing(self._name(f"archive_{memory_type.value}", agent_id))
        return [] if col is None else [_to_memory(agent_id, memory_type, row)
                                       for row in self._rows(col)]

    async def archived(self, agent_id: str) -> list[Memory]:
        """The memories cleanup archived for an agent, oldest first."""
        found = [m for t in MemoryType for m in await self._run(self._archived, agent_id, t)]
        return sorted(found, key=lambda m: (m.created_at, m.id))

    def _drop_memories(self, agent_id: str | None) -> None:
        from chromadb.errors import NotFoundError

        if agent_id is not None:
            names = [self._name(t.value, agent_id) for t in MemoryType]
        else:
            names = [col.name for _, _, col in self._memory_collections(None)]
        for name in names:
            try:
                self._client().delete_collection(name)
            except NotFoundError:
                continue  # nothing stored for that type
            finally:
                self._handles.pop(name, None)

    async def drop_memories(self, agent_id: str | None = None) -> None:
        """Delete one agent's memory collections, or all of this prefix; keeps registry, turns."""
        await self._run(self._drop_memories, agent_id)

    def _turn_collections(self, agent_id: str | None) -> list[tuple[str, Collection]]:
        """(agent_id, collection) of one agent's turns collection, or of every agent's."""
        if agent_id is not None:
            col = self._turns(agent_id)
            return [] if col is None else [(agent_id, col)]
        pattern = re.compile(rf"^{re.escape(self.prefix)}-turns-[0-9a-f]{{32}}$")
        found = [self._client().get_collection(c.name, embedding_function=None)
                 for c in self._client().list_collections() if pattern.match(c.name)]
        return sorted(((str((c.metadata or {})["agent_id"]), c) for c in found),
                      key=lambda item: item[0])

    def _sizes(self, agent_id: str | None) -> tuple[StoreSize, ...]:
        counts = {f"{owner}/{t.value}": col.count()
                  for owner, t, col in self._memory_collections(agent_id)}
        turns = {f"{owner}/turns": col.count() for owner, col in self._turn_collections(agent_id)}
        return (StoreSize("chroma", self.location, sum(counts.values()), sum(turns.values()),
                          collections={**counts, **turns}),)

    async def sizes(self, agent_id: str | None = None) -> tuple[StoreSize, ...]:
        """Records per collection (``agent/type`` and ``agent/turns``), of one agent or all;
        Chroma does not report bytes."""
        return await self._run(self._sizes, agent_id)

    def _heartbeat(self) -> int:
        return int(self._client().heartbeat())

    async def heartbeat(self) -> int:
        """The server's clock in nanoseconds; raises BackendUnavailable when it is down."""
        return await self._run(self._heartbeat)

    def _server_version(self) -> str:
        return str(self._client().get_version())

    async def server_version(self) -> str:
        """The Chroma version the server (or the embedded library) reports."""
        return await self._run(self._server_version)

    def _close(self) -> None:
        with self._lock:
            client, self._client_obj = self._client_obj, None
            self._forget_handles()
            self._max_batch = None
        if client is not None:
            client.close()  # type: ignore[attr-defined]

    async def close(self) -> None:
        """Release the client (a later call reconnects); no thread hop, so it also works
        at interpreter exit."""
        self._close()

    # Last on purpose: a method named `list` shadows the builtin in later annotations.
    async def list_memories(self, agent_id: str, *, memory_types: Sequence[MemoryType],
                   where: FilterNode | None = None, limit: int | None = None, offset: int = 0
                   ) -> list[Memory]:
        """Memories of one agent, oldest first (by created_at, then id)."""
        return await self._run(self._list, agent_id, memory_types, where, limit, offset)
