"""``SessionCache``: an in-process cache of embeddings and of recall results.

One cache serves every adapter on one :class:`~agentmem.HybridMemory` (they all call the
facade), so a text embedded by a LangChain store is not embedded again by the core API.

- **Embeddings** are keyed by (embedder model id, document or query, sha256 of the text):
  an embedder is a pure function of its text, so an entry never goes stale.
- **Recalls** are keyed by (agent, query text or vector hash, every option that changes the
  answer, k). Each agent has a generation counter that every mutating facade method bumps
  after it wrote; an entry is served only at the generation it was computed at, so no
  write, delete, update, link or expiry change of this process is ever answered stale. An
  entry also ends when one of its memories expires and after ``recall_ttl`` seconds (the
  bound on staleness from writers in other processes, and on recency drift of scores).

Both are size-bounded LRUs (an ``OrderedDict`` under a lock: thread-safe). Vectors are
kept as ``array('d')`` (8 bytes a float, the values unchanged); hits are deep-copied in
and out, so callers may mutate what they get.
"""

from __future__ import annotations

import hashlib
import struct
import threading
import time
from array import array
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Hashable, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Generic, TypeVar

from pydantic import BaseModel, computed_field

from .errors import ConfigError

if TYPE_CHECKING:
    from .backends.base import Vector
    from .embeddings import Embedder
    from .models import MemoryHit

__all__ = ["CacheCounts", "CacheStats", "LRU", "SessionCache", "text_key", "vector_key"]

V = TypeVar("V")


class CacheCounts(BaseModel):
    """Figures of one cache since it was made."""

    hits: int
    misses: int
    evictions: int
    size: int
    capacity: int

    @computed_field  # type: ignore[prop-decorator]
    @property
    def hit_rate(self) -> float:
        """Hits over lookups (0.0 before any lookup)."""
        lookups = self.hits + self.misses
        return self.hits / lookups if lookups else 0.0


class CacheStats(BaseModel):
    """The session cache's figures, as :meth:`HybridMemory.stats` reports them."""

    embeddings: CacheCounts
    recalls: CacheCounts


class LRU(Generic[V]):
    """A thread-safe, size-bounded least-recently-used map that counts its hits."""

    def __init__(self, capacity: int, name: str) -> None:
        if isinstance(capacity, bool) or not isinstance(capacity, int) or capacity < 0:
            raise ConfigError(f"the {name} cache size must be an int >= 0 (0 turns it off), "
                              f"got {capacity!r}")
        self.capacity = capacity
        self._data: OrderedDict[Hashable, V] = OrderedDict()
        self._lock = threading.Lock()
        self.hits = self.misses = self.evictions = 0

    def get(self, key: Hashable, valid: Callable[[V], bool] | None = None) -> V | None:
        """The value (now most recently used), or None; counts a hit or a miss.

        A value ``valid`` rejects is dropped (not an eviction) and counts as a miss.
        """
        with self._lock:
            value = self._data.get(key)
            if value is not None and valid is not None and not valid(value):
                del self._data[key]
                value = None
            if value is None:
                self.misses += 1
                return None
            self._data.move_to_end(key)
            self.hits += 1
            return value

    def put(self, key: Hashable, value: V) -> None:
        """Store ``value``, evicting the least recently used entries beyond capacity."""
        if self.capacity == 0:
            return
        with self._lock:
            self._data[key] = value
            self._data.move_to_end(key)
            while len(self._data) > self.capacity:
                self._data.popitem(last=False)
                self.evictions += 1

    def clear(self) -> None:
        with self._lock:
            self._data.clear()

    def counts(self) -> CacheCounts:
        with self._lock:
            return CacheCounts(hits=self.hits, misses=self.misses, evictions=self.evictions,
                               size=len(self._data), capacity=self.capacity)


def text_key(text: str) -> bytes:
    """The sha256 digest of a text (what keys hold instead of the text itself)."""
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).digest()


def vector_key(vector: Vector) -> bytes:
    """The sha256 digest of a query vector's float64 values."""
    return hashlib.sha256(struct.pack(f"<{len(vector)}d", *map(float, vector))).digest()


class _Recall:
    """A cached recall: its hits, the generations it was computed at, and its end."""

    __slots__ = ("generation", "hits", "until")

    def __init__(self, hits: list[MemoryHit], generation: tuple[int, int], until: float) -> None:
        self.hits, self.generation, self.until = hits, generation, until


class SessionCache:
    """Embeddings and recall results of one process, shared by every adapter of a memory.

    ``max_embeddings`` / ``max_recalls`` bound each cache (0 turns that one off);
    ``recall_ttl`` (seconds) bounds how long a recall is served (None: until invalidated).
    """

    def __init__(self, max_embeddings: int = 10_000, max_recalls: int = 1_000, *,
                 recall_ttl: float | None = 60.0) -> None:
        if recall_ttl is not None and (isinstance(recall_ttl, bool) or recall_ttl <= 0):
            raise ConfigError(f"recall_ttl must be a positive number of seconds or None, "
                              f"got {recall_ttl!r}")
        self.embeddings: LRU[array[float]] = LRU(max_embeddings, "embeddings")
        self.recalls: LRU[_Recall] = LRU(max_recalls, "recalls")
        self.recall_ttl = recall_ttl
        self._lock = threading.Lock()
        self._epoch = 0  # bumped by changes of every agent (cleanup or restore of all)
        self._generations: dict[str, int] = {}

    def __repr__(self) -> str:
        return (f"SessionCache(max_embeddings={self.embeddings.capacity}, "
                f"max_recalls={self.recalls.capacity}, recall_ttl={self.recall_ttl})")

    # -- embeddings -----------------------------------------------------------------

    async def documents(self, embedder: Embedder, texts: Sequence[str]) -> list[list[float]]:
        """``embedder.aembed_documents(texts)``, embedding only texts not cached (once each)."""
        return await self._embed(embedder, "document", texts, embedder.aembed_documents)

    async def query(self, embedder: Embedder, text: str) -> list[float]:
        """``embedder.aembed_query(text)``, from the cache when it was embedded before."""

        async def one(texts: Sequence[str]) -> list[list[float]]:
            return [await embedder.aembed_query(texts[0])]

        return (await self._embed(embedder, "query", [text], one))[0]

    async def _embed(self, embedder: Embedder, kind: str, texts: Sequence[str],
                     embed: Callable[[Sequence[str]], Awaitable[list[list[float]]]]
                     ) -> list[list[float]]:
        model = embedder.model_id
        keys = [(model, kind, text_key(t)) for t in texts]
        found: dict[tuple[str, str, bytes], array[float]] = {}
        missing: dict[tuple[str, str, bytes], str] = {}
        for key, text in zip(keys, texts, strict=True):
            if key in found or key in missing:
                continue
            vector = self.embeddings.get(key)
            if vector is None:
                missing[key] = text
            else:
                found[key] = vector
        if missing:
            fresh = await embed(list(missing.values()))
            try:
                if len(fresh) != len(missing):
                    raise ValueError("wrong number of vectors")
                made = [array("d", v) for v in fresh]
            except (TypeError, ValueError):  # not vectors: the facade's check says what is wrong
                return list(fresh)
            for key, stored in zip(missing, made, strict=True):
                self.embeddings.put(key, stored)
                found[key] = stored
        return [list(found[key]) for key in keys]

    # -- recalls --------------------------------------------------------------------

    def generation(self, agent_id: str) -> tuple[int, int]:
        """The (all agents, this agent) generation now: taken before a recall reads."""
        with self._lock:
            return self._epoch, self._generations.get(agent_id, 0)

    def changed(self, agent_id: str | None) -> None:
        """Note that ``agent_id``'s memories changed (None: any agent's); call after writing."""
        with self._lock:
            if agent_id is None:
                self._epoch += 1
            else:
                self._generations[agent_id] = self._generations.get(agent_id, 0) + 1

    def recall(self, key: Hashable, agent_id: str) -> list[MemoryHit] | None:
        """Copies of a cached recall still valid for ``agent_id`` now, or None."""
        current, now = self.generation(agent_id), time.monotonic()
        entry = self.recalls.get((agent_id, key),
                                 lambda e: e.generation == current and now < e.until)
        if entry is None:
            return None
        return [h.model_copy(deep=True) for h in entry.hits]

    def store_recall(self, key: Hashable, agent_id: str, generation: tuple[int, int],
                     hits: Sequence[MemoryHit], now: datetime) -> None:
        """Keep copies of ``hits`` computed at ``generation``, until one of them expires."""
        start = time.monotonic()
        until = start + (self.recall_ttl if self.recall_ttl is not None else float("inf"))
        for h in hits:
            for m in (h.memory, *(r.memory for r in h.related)):
                if m.expires_at is not None:
                    until = min(until, start + (m.expires_at - now).total_seconds())
        self.recalls.put((agent_id, key),
                         _Recall([h.model_copy(deep=True) for h in hits], generation, until))

    # -- figures --------------------------------------------------------------------

    def stats(self) -> CacheStats:
        """Hits, misses, evictions and sizes of both caches, with their hit rates."""
        return CacheStats(embeddings=self.embeddings.counts(), recalls=self.recalls.counts())

    def clear(self) -> None:
        """Drop every entry (the counters are kept)."""
        self.embeddings.clear()
        self.recalls.clear()
