"""One table of behaviours, run on every backend: PostgreSQL, Chroma and the hybrid of both."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import datetime, timedelta, timezone
from typing import Any

import numpy as np
import pytest

from agentmem import (
    ChatTurn,
    ChromaBackend,
    DimensionMismatch,
    HybridBackend,
    Memory,
    MemoryTier,
    MemoryType,
    PostgresBackend,
)
from agentmem.backends.base import Backend, DistinctValues, LexicalSearch, StoreInfo, VectorScan
from agentmem.filters import parse_filter

from .test_retrieval import BM25_TEXTS, reference_bm25

DIM = 8
INFO = StoreInfo("contract-model", DIM)
ALL = list(MemoryType)
T0 = datetime(2024, 1, 1, tzinfo=timezone.utc)


def vec(i: int) -> list[float]:
    v = np.zeros(DIM)
    v[i % DIM], v[(i + 1) % DIM] = 1.0, 0.1 * (i // DIM)
    return list(v / np.linalg.norm(v))


def mem(agent: str, i: int, **kw: Any) -> Memory:
    kw.setdefault("created_at", T0 + timedelta(seconds=i))
    return Memory(id=f"m{i}", content=f"memory number {i}", agent_id=agent, **kw)


@pytest.fixture(params=["pgvector", "chroma", "hybrid"])
async def backend(request: pytest.FixtureRequest, new_database: Callable[[], str],
                  chroma_url: str) -> AsyncIterator[Backend]:
    prefix = f"c{uuid.uuid4().hex[:12]}"
    made: Backend
    if request.param == "pgvector":
        made = PostgresBackend(new_database())
    elif request.param == "chroma":
        made = ChromaBackend(chroma_url, prefix=prefix)
    else:
        made = HybridBackend(PostgresBackend(new_database()), ChromaBackend(chroma_url, prefix=prefix))
    await made.init(INFO)
    yield made
    await made.close()


async def _ids(backend: Backend, agent: str) -> list[str]:
    return [m.id for m in await backend.list_memories(agent, memory_types=ALL)]


async def upsert_then_get(b: Backend, agent: str) -> None:
    await b.upsert([mem(agent, i) for i in range(3)], [vec(i) for i in range(3)])
    got = await b.get(agent, ["m2", "missing", "m0"])
    assert [m.id for m in got] == ["m2", "m0"] and got[0].content == "memory number 2"


async def upsert_is_idempotent_and_replaces(b: Backend, agent: str) -> None:
    await b.upsert([mem(agent, 1)], [vec(1)])
    await b.upsert([mem(agent, 1)], [vec(1)])
    await b.upsert([mem(agent, 1, memory_type="semantic", importance=0.9)], [vec(2)])
    [m] = await b.get(agent, ["m1"])
    assert (m.memory_type, m.importance) == (MemoryType.SEMANTIC, 0.9)
    assert await _ids(b, agent) == ["m1"]  # moved to another type, not copied
    assert (await b.count(agent, memory_types=ALL))[MemoryType.SEMANTIC] == 1


async def duplicate_ids_in_one_batch_keep_the_last(b: Backend, agent: str) -> None:
    first, last = mem(agent, 1), mem(agent, 1).model_copy(update={"content": "the last one"})
    await b.upsert([first, mem(agent, 2), last], [vec(1), vec(2), vec(3)])
    assert [m.content for m in await b.get(agent, ["m1"])] == ["the last one"]
    assert await _ids(b, agent) == ["m1", "m2"]


async def a_bad_batch_writes_nothing(b: Backend, agent: str) -> None:
    with pytest.raises(DimensionMismatch):
        await b.upsert([mem(agent, 1), mem(agent, 2)], [vec(1), vec(2)[:5]])
    assert await _ids(b, agent) == []


async def query_is_nearest_first_scoped_and_never_short(b: Backend, agent: str) -> None:
    await b.upsert([mem(agent, i) for i in range(12)], [vec(i) for i in range(12)])
    await b.upsert([mem(f"{agent}-other", 3)], [vec(3)])
    hits = await b.query(agent, vec(3), k=5, memory_types=ALL)
    assert hits[0].memory.id == "m3" and hits[0].score == pytest.approx(1.0, abs=1e-5)
    assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)
    assert all(h.memory.agent_id == agent for h in hits) and len(hits) == 5
    assert len(await b.query(agent, vec(3), k=50, memory_types=ALL)) == 12
    where = parse_filter({"bucket": 1})
    await b.upsert([mem(agent, 20, metadata={"bucket": 1})], [vec(20)])
    assert [h.memory.id for h in await b.query(agent, vec(3), k=5, memory_types=ALL,
                                               where=where)] == ["m20"]
    with_vectors = await b.query(agent, vec(3), k=1, memory_types=ALL, with_vectors=True)
    assert with_vectors[0].vector == pytest.approx(vec(3), abs=1e-6)


async def expired_memories_are_never_returned(b: Backend, agent: str) -> None:
    """One rule for expiry: recalled, searched, fetched, listed, counted - never."""
    past = datetime.now(timezone.utc) - timedelta(seconds=5)
    soon = datetime.now(timezone.utc) + timedelta(hours=1)
    await b.upsert([mem(agent, 1, expires_at=past, metadata={"k": 1}),
                    mem(agent, 2, expires_at=soon, metadata={"k": 1}), mem(agent, 3)],
                   [vec(1), vec(1), vec(1)])
    assert [h.memory.id for h in await b.query(agent, vec(1), k=5, memory_types=ALL)] == [
        "m2", "m3"]
    assert [m.id for m in await b.get(agent, ["m1", "m2"])] == ["m2"]
    assert await _ids(b, agent) == ["m2", "m3"]
    assert sum((await b.count(agent, memory_types=ALL)).values()) == 2
    assert (await b.count(agent, memory_types=ALL, where=parse_filter({"k": 1})))[
        MemoryType.EPISODIC] == 1
    if isinstance(b, LexicalSearch):
        hits = await b.search_text(agent, "memory number", k=5, memory_types=ALL)
        assert {h.memory.id for h in hits} == {"m2", "m3"}
    if isinstance(b, DistinctValues):
        assert await b.distinct(agent, "k", memory_types=ALL) == [1]
        await b.upsert([mem(agent, 4, expires_at=past, metadata={"k": 9})], [vec(4)])
        assert await b.distinct(agent, "k", memory_types=ALL) == [1]


async def tiers_round_trip_and_filter(b: Backend, agent: str) -> None:
    await b.upsert([mem(agent, 1, importance=0.95), mem(agent, 2, tier=MemoryTier.WORKING),
                    mem(agent, 3, importance=0.75)], [vec(1), vec(2), vec(3)])
    got = {m.id: m.tier for m in await b.list_memories(agent, memory_types=ALL)}
    assert got == {"m1": MemoryTier.PERMANENT, "m2": MemoryTier.WORKING,
                   "m3": MemoryTier.LONG_TERM}
    only = await b.list_memories(agent, memory_types=ALL, where=parse_filter({"tier": "working"}))
    assert [m.id for m in only] == ["m2"]


async def delete_by_ids_and_by_filter(b: Backend, agent: str) -> None:
    await b.upsert([mem(agent, i, metadata={"even": i % 2 == 0}) for i in range(6)],
                   [vec(i) for i in range(6)])
    assert await b.delete(agent, ids=["m0", "nope"], memory_types=ALL) == 1
    assert await b.delete(agent, memory_types=ALL, where=parse_filter({"even": True})) == 2
    assert await _ids(b, agent) == ["m1", "m3", "m5"]
    assert await b.delete(f"{agent}-other", memory_types=ALL) == 0


async def list_is_oldest_first_and_pages(b: Backend, agent: str) -> None:
    await b.upsert([mem(agent, i) for i in (3, 1, 2, 0)], [vec(i) for i in (3, 1, 2, 0)])
    page = await b.list_memories(agent, memory_types=ALL, limit=2, offset=1)
    assert [m.id for m in page] == ["m1", "m2"]


async def count_per_type(b: Backend, agent: str) -> None:
    await b.upsert([mem(agent, 1), mem(agent, 2, memory_type="procedural")], [vec(1), vec(2)])
    assert await b.count(agent, memory_types=ALL) == {
        MemoryType.EPISODIC: 1, MemoryType.SEMANTIC: 0, MemoryType.PROCEDURAL: 1}


async def history_keeps_order_and_sessions(b: Backend, agent: str) -> None:
    turns = [ChatTurn(session_id=s, agent_id=agent, role="user", content=f"{s}-{i}")
             for s in ("s1", "s2") for i in range(3)]
    await b.add_turns(turns)
    assert [t.content for t in await b.history(agent, "s1")] == ["s1-0", "s1-1", "s1-2"]
    assert [t.content for t in await b.history(agent, "s1", 2)] == ["s1-1", "s1-2"]
    assert await b.sessions(agent) == ["s1", "s2"]
    await b.replace_history(agent, "s2", turns[3:4])
    assert [t.content for t in await b.history(agent, "s2")] == ["s2-0"]
    assert await b.history_stats(agent) == (4, 2)
    assert await b.clear_history(agent, "s1") == 3
    assert await b.history(f"{agent}-other", "s2") == []


async def scan_yields_every_memory_with_its_vector(b: Backend, agent: str) -> None:
    assert isinstance(b, VectorScan)
    await b.upsert([mem(agent, i) for i in range(7)], [vec(i) for i in range(7)])
    seen: dict[str, list[float]] = {}
    async for memories, vectors in b.scan(agent, batch_size=3):
        assert len(memories) == len(vectors) <= 3
        seen.update({m.id: v for m, v in zip(memories, vectors)})
    assert sorted(seen) == [f"m{i}" for i in range(7)]
    assert seen["m4"] == pytest.approx(vec(4), abs=1e-6)


async def search_text_finds_shared_words(b: Backend, agent: str) -> None:
    assert isinstance(b, LexicalSearch)
    await b.upsert([mem(agent, 1).model_copy(update={"content": "whales sing at night"}),
                    mem(agent, 2).model_copy(update={"content": "cats sleep all day"})],
                   [vec(1), vec(2)])
    hits = await b.search_text(agent, "where do whales sing", k=5, memory_types=ALL)
    assert [h.memory.id for h in hits] == ["m1"] and 0 < hits[0].score < 1


async def search_text_with_vectors_gives_each_hit_its_stored_vector(b: Backend, agent: str) -> None:
    assert isinstance(b, LexicalSearch)
    await b.upsert([mem(agent, i, memory_type=t).model_copy(update={"content": f"whale song {i}"})
                    for i, t in enumerate(["episodic", "semantic", "procedural", "semantic"])],
                   [vec(i) for i in range(4)])
    hits = await b.search_text(agent, "whale", k=3, memory_types=ALL, with_vectors=True)
    assert len(hits) == 3
    for h in hits:
        assert h.vector == pytest.approx(vec(int(h.memory.id[1:])), abs=1e-6)
    plain = await b.search_text(agent, "whale", k=3, memory_types=ALL)
    assert [h.memory.id for h in plain] == [h.memory.id for h in hits]
    assert all(h.vector is None for h in plain)


async def search_text_scores_are_the_reference_bm25(b: Backend, agent: str) -> None:
    """Both backends rank by the same analyzer and BM25 (tests/test_retrieval.py's reference);
    another agent's rows are not part of the corpus."""
    assert isinstance(b, LexicalSearch)
    texts = BM25_TEXTS
    await b.upsert([mem(agent, i).model_copy(update={"content": t}) for i, t in enumerate(texts)],
                   [vec(i) for i in range(len(texts))])
    await b.upsert([mem(f"{agent}-other", 0).model_copy(update={"content": "cat cat dog"})],
                   [vec(0)])
    for query in ("cat", "The dog sat", "self care bike", "zebra", "what is it"):
        want = reference_bm25(query, texts)
        hits = await b.search_text(agent, query, k=len(texts), memory_types=ALL)
        expected = sorted((i for i, s in enumerate(want) if s > 0), key=lambda i: (-want[i], f"m{i}"))
        assert [h.memory.id for h in hits] == [f"m{i}" for i in expected], query
        assert [h.score for h in hits] == pytest.approx([want[i] for i in expected], rel=1e-6)


CONTRACT: list[Callable[[Backend, str], Awaitable[None]]] = [
    upsert_then_get, upsert_is_idempotent_and_replaces, duplicate_ids_in_one_batch_keep_the_last,
    a_bad_batch_writes_nothing, query_is_nearest_first_scoped_and_never_short,
    expired_memories_are_never_returned, tiers_round_trip_and_filter, delete_by_ids_and_by_filter,
    list_is_oldest_first_and_pages, count_per_type, history_keeps_order_and_sessions,
    scan_yields_every_memory_with_its_vector, search_text_finds_shared_words,
    search_text_with_vectors_gives_each_hit_its_stored_vector,
    search_text_scores_are_the_reference_bm25,
]


@pytest.mark.parametrize("behaviour", CONTRACT, ids=lambda f: f.__name__)
async def test_backend_contract(backend: Backend, behaviour: Callable[[Backend, str],
                                                                      Awaitable[None]]) -> None:
    await behaviour(backend, f"agent-{uuid.uuid4().hex[:10]}")
