"""The session cache: counting, LRU bounds, sharing across adapters, invalidation on every
mutation, threads, tenancy, and that a memory without one behaves as before."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from agentmem import (
    ChromaBackend,
    ConfigError,
    HashingEmbedder,
    HybridMemory,
    Memory,
    MemoryHit,
    MemoryType,
    PostgresBackend,
    SessionCache,
    load_settings,
)
from agentmem.cache import LRU
from agentmem.lifecycle import ConsolidationPolicy, RetentionPolicy
from agentmem.models import utcnow
from tests.conftest import DIM, MODES


class CountingEmbedder:
    """A HashingEmbedder that counts the texts it embeds (documents and queries)."""

    def __init__(self) -> None:
        self.inner = HashingEmbedder(DIM)
        self.documents: list[str] = []
        self.queries: list[str] = []
        self._lock = threading.Lock()

    @property
    def model_id(self) -> str:
        return self.inner.model_id

    @property
    def dimension(self) -> int:
        return self.inner.dimension

    def embed_documents(self, texts: Sequence[str]) -> list[list[float]]:
        with self._lock:
            self.documents += list(texts)
        return self.inner.embed_documents(texts)

    def embed_query(self, text: str) -> list[float]:
        with self._lock:
            self.queries.append(text)
        return self.inner.embed_query(text)

    async def aembed_documents(self, texts: Sequence[str]) -> list[list[float]]:
        return self.embed_documents(texts)

    async def aembed_query(self, text: str) -> list[float]:
        return self.embed_query(text)


def build(mode: str, pg_url: str, chroma_url: str, cache: SessionCache | None,
          embedder: Any = None, **kw: Any) -> HybridMemory:
    memory = HybridMemory(embedder=embedder or HashingEmbedder(DIM),
                          postgres=PostgresBackend(pg_url) if mode != "chroma" else None,
                          chroma=ChromaBackend(chroma_url) if mode != "pgvector" else None,
                          cache=cache, **kw)
    memory.init()
    return memory


def seen(hits: Sequence[MemoryHit]) -> list[tuple[Any, ...]]:
    """What a caller sees of a recall (ids, contents, expiry, scores, links)."""
    return [(h.memory.id, h.memory.content, h.memory.importance, h.memory.expires_at,
             round(h.score, 6), sorted(r.memory.id for r in h.related)) for h in hits]


@pytest.fixture(params=MODES)
def pair(request: pytest.FixtureRequest, pg_url: str,
         chroma_url: str) -> Iterator[tuple[HybridMemory, HybridMemory, CountingEmbedder]]:
    """A cached memory (counting its embeddings) and an uncached one over the same store."""
    embedder = CountingEmbedder()
    cached = build(request.param, pg_url, chroma_url, SessionCache(), embedder)
    reference = build(request.param, pg_url, chroma_url, None)
    try:
        yield cached, reference, embedder
    finally:
        cached.close()
        reference.close()


TEXTS = ["the user drinks green tea every morning", "the user flew to Lisbon in May",
         "green tea with jasmine is the user's favourite", "the user plays chess on Sundays"]


def seed(memory: HybridMemory, agent: str) -> None:
    memory.remember_many([Memory(id=f"m{i}", content=t, agent_id=agent, session_id="s",
                                 memory_type=MemoryType.SEMANTIC)
                          for i, t in enumerate(TEXTS)])


# -- the LRU ------------------------------------------------------------------------


def test_lru_counts_hits_misses_and_evicts_the_least_recently_used() -> None:
    lru: LRU[str] = LRU(2, "test")
    lru.put("a", "A")
    lru.put("b", "B")
    assert lru.get("a") == "A"  # a is now more recent than b
    lru.put("c", "C")
    assert lru.get("b") is None and lru.get("c") == "C" and lru.get("a") == "A"
    counts = lru.counts()
    assert (counts.hits, counts.misses, counts.evictions, counts.size) == (3, 1, 1, 2)
    assert counts.hit_rate == pytest.approx(0.75)
    assert lru.get("a", lambda v: False) is None and lru.counts().size == 1  # stale: dropped


def test_sizes_are_checked_and_zero_turns_a_cache_off() -> None:
    with pytest.raises(ConfigError, match="embeddings cache size"):
        SessionCache(max_embeddings=-1)
    with pytest.raises(ConfigError, match="recall_ttl"):
        SessionCache(recall_ttl=0)
    off: LRU[int] = LRU(0, "test")
    off.put("a", 1)
    assert off.get("a") is None and off.counts().size == 0


def test_lru_is_thread_safe_under_hammering() -> None:
    lru: LRU[int] = LRU(50, "test")
    gets = 0
    lock = threading.Lock()

    def hammer(seed: int) -> None:
        nonlocal gets
        for i in range(3000):
            key = (seed * 7 + i) % 120
            if lru.get(key) is None:
                lru.put(key, key)
            with lock:
                gets += 1

    threads = [threading.Thread(target=hammer, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    counts = lru.counts()
    assert counts.size == 50 and counts.hits + counts.misses == gets == 24000
    assert counts.evictions > 0


# -- the facade ---------------------------------------------------------------------


def test_a_repeated_recall_is_served_from_the_cache_as_a_copy(pair: Any) -> None:
    cached, reference, embedder = pair
    agent = f"agent-{uuid.uuid4().hex[:10]}"
    seed(cached, agent)
    assert len(embedder.documents) == len(TEXTS)
    first = cached.recall("green tea", agent, k=3)
    first[0].memory.content = "mutated by the caller"
    first[0].score = -1.0
    second = cached.recall("green tea", agent, k=3)
    assert embedder.queries == ["green tea"]  # embedded once
    assert seen(second) == seen(reference.recall("green tea", agent, k=3))
    stats = cached.stats(agent).cache
    assert stats is not None
    assert (stats.recalls.hits, stats.recalls.misses) == (1, 1)
    assert stats.recalls.hit_rate == pytest.approx(0.5)
    cached.recall("green tea", agent, k=2)  # another k: another answer, the same query vector
    cached.recall("green tea", agent, k=3, lexical_weight=0.0)
    assert embedder.queries == ["green tea"]
    stats = cached.stats(agent).cache
    assert stats is not None and stats.recalls.misses == 3 and stats.embeddings.hits == 2


def test_re_ingesting_unchanged_texts_embeds_nothing(pair: Any) -> None:
    cached, _, embedder = pair
    agent = f"agent-{uuid.uuid4().hex[:10]}"
    seed(cached, agent)
    seed(cached, agent)
    cached.remember(TEXTS[0], agent, id="again")
    cached.remember_many([Memory(content="a new text", agent_id=agent),
                          Memory(content="a new text", agent_id=agent)])
    assert embedder.documents == [*TEXTS, "a new text"]  # a batch's duplicates embed once


def test_adapters_on_one_memory_share_the_cache(pg_url: str, chroma_url: str) -> None:
    from langchain_agentmem import AgentMemVectorStore

    embedder = CountingEmbedder()
    memory = build("hybrid", pg_url, chroma_url, SessionCache(), embedder)
    agent = f"agent-{uuid.uuid4().hex[:10]}"
    try:
        store = AgentMemVectorStore(memory, agent_id=agent)
        store.add_texts(TEXTS)
        docs = store.similarity_search("green tea", k=2)
        assert (len(embedder.documents), embedder.queries) == (len(TEXTS), ["green tea"])
        memory.remember_many([Memory(content=t, agent_id=agent, memory_type=MemoryType.SEMANTIC)
                              for t in TEXTS])
        hits = memory.recall("green tea", agent, memory_types=["semantic"], k=2,
                             lexical_weight=store.lexical_weight)
        assert (len(embedder.documents), embedder.queries) == (len(TEXTS), ["green tea"])
        assert [h.memory.content for h in hits][:1] == [d.page_content for d in docs][:1]
    finally:
        memory.forget(agent_id=agent, memory_types=list(MemoryType))
        memory.close()


def test_one_agents_cached_recall_is_never_served_to_another(pair: Any) -> None:
    cached, _, embedder = pair
    a, b = (f"agent-{uuid.uuid4().hex[:10]}" for _ in range(2))
    seed(cached, a)
    cached.remember("green tea is what agent b never drinks", b, memory_type="semantic", id="b1")
    for_a = cached.recall("green tea", a, k=3)
    for_b = cached.recall("green tea", b, k=3)
    assert {h.memory.agent_id for h in for_a} == {a}
    assert [h.memory.id for h in for_b] == ["b1"]
    stats = cached.stats(a).cache
    assert stats is not None and stats.recalls.hits == 0 and stats.recalls.misses == 2
    assert embedder.queries == ["green tea"]  # the vector is shared: it is the same text


def test_a_memory_that_expires_leaves_its_cached_recalls(pair: Any) -> None:
    cached, reference, _ = pair
    agent = f"agent-{uuid.uuid4().hex[:10]}"
    seed(cached, agent)
    cached.remember("green tea, briefly", agent, memory_type="semantic", id="brief",
                    expires_at=utcnow() + timedelta(seconds=1.5))
    assert "brief" in [h.memory.id for h in cached.recall("green tea", agent, k=5)]
    time.sleep(1.6)
    after = cached.recall("green tea", agent, k=5)
    assert "brief" not in [h.memory.id for h in after]
    assert seen(after) == seen(reference.recall("green tea", agent, k=5))


Mutation = Callable[[HybridMemory, str, Path], object]


def _consolidate(m: HybridMemory, agent: str, _: Path) -> None:
    m.remember_many([Memory(content=t, agent_id=agent) for t in (
        "The user asked how to brew green tea", "The user asked again how to brew green tea",
        "User asked how green tea is brewed")])
    report = m.consolidate(agent, policy=ConsolidationPolicy(similarity=0.6, min_group=3))
    assert report.created  # something changed, or the test proves nothing


def _restore(m: HybridMemory, agent: str, tmp: Path) -> None:
    m.export(tmp / "b.jsonl", agent)
    m.forget(agent_id=agent, memory_types=list(MemoryType))
    assert m.recall("green tea", agent, k=3) == []  # an empty answer, cached
    m.restore(tmp / "b.jsonl", agent)


def _unlink(m: HybridMemory, agent: str, _: Path) -> None:
    m.link("m0", "m3", agent)
    linked = m.recall("green tea", agent, k=3, expand_related=True)  # cached with the link
    assert any(r.memory.id == "m3" for h in linked for r in h.related)
    m.unlink("m0", "m3", agent)


MUTATIONS: dict[str, Mutation] = {
    "remember": lambda m, a, _: m.remember("green tea again and again", a,
                                           memory_type="semantic", session_id="s"),
    "remember_many": lambda m, a, _: m.remember_many(
        [Memory(content="a pot of green tea", agent_id=a, memory_type=MemoryType.SEMANTIC)]),
    "upsert_by_id": lambda m, a, _: m.remember("chess, not tea", a, memory_type="semantic",
                                               id="m0", session_id="s"),
    "update": lambda m, a, _: m.update("m3", a, content="green tea after chess", importance=0.9),
    "forget": lambda m, a, _: m.forget(["m0"], a),
    "forget_by_filter": lambda m, a, _: m.forget(agent_id=a, memory_types=["semantic"]),
    "set_expiry": lambda m, a, _: m.set_expiry(["m0"], a, utcnow() + timedelta(days=1)),
    "cleanup": lambda m, a, _: (m.set_expiry(["m2"], a, utcnow() - timedelta(seconds=1)),
                                m.cleanup(a, archive=True)),
    "consolidate": _consolidate,
    "restore": _restore,
    "link": lambda m, a, _: m.link("m0", "m3", a),
    "unlink": _unlink,
}
LINKED = {"link", "unlink"}


@pytest.mark.parametrize("kind", sorted(MUTATIONS))
def test_no_stale_answer_after_any_mutation(pair: Any, kind: str, tmp_path: Path) -> None:
    cached, reference, _ = pair
    if cached.mode == "chroma" and kind in LINKED:
        with pytest.raises(ConfigError, match="links"):
            MUTATIONS[kind](cached, "agent-x", tmp_path)
        return
    agent = f"agent-{uuid.uuid4().hex[:10]}"
    seed(cached, agent)
    related = cached.mode != "chroma"
    asks: list[dict[str, Any]] = [{"k": 3}, {"k": 3, "lexical_weight": 0.0}]
    if related:
        asks.append({"k": 3, "expand_related": True})
    before = [seen(cached.recall("green tea", agent, **ask)) for ask in asks]
    assert [seen(cached.recall("green tea", agent, **ask)) for ask in asks] == before
    stats = cached.stats(agent).cache
    assert stats is not None and stats.recalls.hits >= len(asks)  # the answers were cached before the change
    MUTATIONS[kind](cached, agent, tmp_path)
    after = [seen(cached.recall("green tea", agent, **ask)) for ask in asks]
    assert after == [seen(reference.recall("green tea", agent, **ask)) for ask in asks]
    if kind == "restore":  # past a cached empty answer
        assert all(after)
    elif kind == "unlink":  # back where it began, past a cached linked answer
        assert after == before
    else:
        assert after != before


def test_threads_hammering_one_cached_memory_never_see_stale_answers(
        pg_url: str, chroma_url: str) -> None:
    memory = build("pgvector", pg_url, chroma_url, SessionCache(max_recalls=8))
    agents = [f"agent-{uuid.uuid4().hex[:10]}" for _ in range(4)]
    errors: list[str] = []

    def work(agent: str) -> None:
        for i in range(15):
            memory.remember(f"green tea note {i}", agent, id=f"n{i}")
            hits = memory.recall("green tea note", agent, k=50)
            if sorted(h.memory.id for h in hits) != sorted(f"n{j}" for j in range(i + 1)):
                errors.append(f"{agent} round {i}: {[h.memory.id for h in hits]}")
            if {h.memory.agent_id for h in hits} != {agent}:
                errors.append(f"{agent} got another agent's memories")

    try:
        threads = [threading.Thread(target=work, args=(a,)) for a in agents]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert errors == []
        stats = memory.stats(agents[0]).cache
        assert stats is not None
        assert stats.recalls.misses == 60 and stats.recalls.size <= 8
    finally:
        memory.close()


def test_under_refresh_on_access_recalls_always_reach_the_store(pg_url: str,
                                                               chroma_url: str) -> None:
    embedder = CountingEmbedder()
    memory = build("pgvector", pg_url, chroma_url, SessionCache(), embedder,
                   retention=RetentionPolicy(refresh_on_access=True))
    agent = f"agent-{uuid.uuid4().hex[:10]}"
    try:
        seed(memory, agent)
        first = memory.recall("green tea", agent, k=2)
        second = memory.recall("green tea", agent, k=2)
        assert second[0].memory.expires_at is not None
        assert second[0].memory.expires_at > first[0].memory.expires_at  # type: ignore[operator]
        stats = memory.stats(agent).cache
        assert stats is not None and stats.recalls.hits + stats.recalls.misses == 0
        assert embedder.queries == ["green tea"]  # embeddings are still cached
    finally:
        memory.close()


def test_without_a_cache_nothing_changes(pair: Any) -> None:
    cached, reference, _ = pair
    agent = f"agent-{uuid.uuid4().hex[:10]}"
    seed(reference, agent)
    assert reference.cache is None and reference.stats(agent).cache is None
    asks: list[dict[str, Any]] = [{"k": 2}, {"k": 4, "lexical_weight": 0.0},
                                  {"k": 3, "memory_types": ["semantic"], "filter": {"session_id": "s"}}]
    for ask in asks:
        plain = seen(reference.recall("green tea", agent, **ask))
        assert seen(cached.recall("green tea", agent, **ask)) == plain
        assert seen(cached.recall("green tea", agent, **ask)) == plain  # from the cache
    vector = HashingEmbedder(DIM).embed_query("green tea")
    assert seen(cached.recall_by_vector(vector, agent, k=3)) == seen(
        reference.recall_by_vector(vector, agent, k=3))


def test_settings_turn_the_cache_on_with_their_sizes(pg_url: str) -> None:
    on = load_settings(postgres_url=pg_url, mode="pgvector", embeddings=f"hashing:{DIM}",
                       cache="ON", cache_embeddings=5, cache_recalls=3, cache_ttl=9.0)
    off = load_settings(postgres_url=pg_url, mode="pgvector", embeddings=f"hashing:{DIM}")
    with pytest.raises(ConfigError, match="AGENTMEM_CACHE"):
        load_settings(cache="maybe")
    with HybridMemory.from_settings(on) as memory, HybridMemory.from_settings(off) as plain:
        assert memory.cache is not None and plain.cache is None
        assert (memory.cache.embeddings.capacity, memory.cache.recalls.capacity,
                memory.cache.recall_ttl) == (5, 3, 9.0)
        given = SessionCache()
        with HybridMemory.from_settings(off, cache=given) as explicit:
            assert explicit.cache is given


def test_prometheus_exports_the_cache_counters(pg_url: str, chroma_url: str) -> None:
    from prometheus_client import generate_latest

    from agentmem.ops.exposition import registry_for

    memory = build("pgvector", pg_url, chroma_url, SessionCache())
    agent = f"agent-{uuid.uuid4().hex[:10]}"
    try:
        seed(memory, agent)
        memory.recall("green tea", agent)
        memory.recall("green tea", agent)
        text = generate_latest(registry_for(memory, size_ttl=3600)).decode()
        assert 'agentmem_cache_hits_total{cache="recalls"} 1.0' in text
        assert 'agentmem_cache_misses_total{cache="embeddings"} 5.0' in text
        assert 'agentmem_cache_evictions_total{cache="recalls"} 0.0' in text
        assert 'agentmem_cache_entries{cache="embeddings"} 5.0' in text
        plain = build("pgvector", pg_url, chroma_url, None)
        try:
            assert "agentmem_cache" not in generate_latest(registry_for(plain)).decode()
        finally:
            plain.close()
    finally:
        memory.close()
