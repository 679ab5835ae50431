"""Recall plans in PostgreSQL: exact for small agents, a per-agent ANN index for large ones."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np
import psycopg
import pytest

from agentmem import HashingEmbedder, HybridMemory, Memory, PostgresBackend
from agentmem.backends.base import StoreInfo

DIM = 32
BIG, BIG_ROWS, SMALL_ROWS = "big-agent", 3000, 150


def _mixture(rng: np.random.Generator, n: int, centres: int = 40) -> np.ndarray:
    """Clustered unit vectors, shaped like real embeddings rather than uniform noise."""
    c = rng.normal(size=(centres, DIM))
    x = c[rng.integers(0, centres, n)] + 0.35 * rng.normal(size=(n, DIM))
    out: np.ndarray = (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)
    return out


@pytest.fixture(scope="module")
def store(new_database) -> Iterator[tuple[str, dict[str, list[Memory]], dict[str, np.ndarray]]]:  # type: ignore[no-untyped-def]
    url = new_database()
    rng = np.random.default_rng(3)
    rows: dict[str, list[Memory]] = {}
    vecs: dict[str, np.ndarray] = {}
    memory = HybridMemory(embedder=HashingEmbedder(DIM), postgres=PostgresBackend(url))
    memory.init()
    for agent, n in ((BIG, BIG_ROWS), ("small-1", SMALL_ROWS), ("small-2", SMALL_ROWS)):
        vecs[agent] = _mixture(rng, n)
        rows[agent] = [Memory(id=f"{agent}-{i}", content=f"memory {i}", agent_id=agent,
                              metadata={"bucket": i % 50}) for i in range(n)]
        memory.remember_many(rows[agent], vecs[agent])
    memory.close()
    yield url, rows, vecs


def _exact(vectors: np.ndarray, ids: list[str], q: np.ndarray, k: int) -> list[str]:
    return [ids[i] for i in np.argsort(-(vectors @ q), kind="stable")[:k]]


def _index_scans(url: str) -> dict[str, int]:
    with psycopg.connect(url) as conn:
        return {r[0]: int(r[1]) for r in conn.execute(
            "SELECT indexrelname, idx_scan FROM pg_stat_user_indexes"
            " WHERE indexrelname LIKE 'agentmem_ann_%'").fetchall()}


async def _recall(url: str, agent: str, q: np.ndarray, k: int, **kw: Any) -> list[str]:
    memory = HybridMemory(embedder=HashingEmbedder(DIM), postgres=PostgresBackend(url))
    hits = await memory.arecall_by_vector(q.tolist(), agent, k=k, **kw)
    await memory.aclose()
    return [h.memory.id for h in hits]


async def test_small_agents_are_exact_and_large_ones_use_their_ann_index(store) -> None:  # type: ignore[no-untyped-def]
    url, rows, vecs = store
    backend = PostgresBackend(url)
    await backend.check(StoreInfo("hashing-v1", DIM))
    ann = await backend.build_ann(BIG, m=16, ef_construction=64, ef_search=60)
    assert ann.rows_at_build == BIG_ROWS and (await backend.ann_indexes()).keys() == {BIG}
    await backend.close()
    rng = np.random.default_rng(5)
    recalls = []
    for trial in range(20):
        agent = BIG if trial % 2 == 0 else "small-1"
        ids = [m.id for m in rows[agent]]
        q = vecs[agent][rng.integers(0, len(ids))] + 0.05 * rng.normal(size=DIM).astype(np.float32)
        before = _index_scans(url)
        got = await _recall(url, agent, q, 10)
        used_ann = _index_scans(url)[ann.index_name] > before[ann.index_name]
        want = _exact(vecs[agent], ids, q, 10)
        assert len(got) == 10
        assert used_ann == (agent == BIG)
        if agent == BIG:
            recalls.append(len(set(got) & set(want)) / 10)
        else:
            assert got == want
    assert np.mean(recalls) >= 0.99


async def test_ann_results_are_never_short_under_a_selective_filter(store) -> None:  # type: ignore[no-untyped-def]
    url, rows, vecs = store
    backend = PostgresBackend(url)
    await backend.check(StoreInfo("hashing-v1", DIM))
    await backend.build_ann(BIG, ef_search=10)
    await backend.close()
    q = vecs[BIG][0]
    keep = [i for i, m in enumerate(rows[BIG]) if m.metadata["bucket"] in (3, 4)]  # 2% of rows
    got = await _recall(url, BIG, q, 100, filter={"bucket": {"$in": [3, 4]}})
    assert len(got) == min(100, len(keep)) == 100
    want = _exact(vecs[BIG][keep], [rows[BIG][i].id for i in keep], q, 100)
    assert len(set(got) & set(want)) >= 95


async def test_dropping_the_index_goes_back_to_exact(store) -> None:  # type: ignore[no-untyped-def]
    url, rows, vecs = store
    backend = PostgresBackend(url)
    await backend.check(StoreInfo("hashing-v1", DIM))
    await backend.build_ann(BIG)
    assert await backend.drop_ann(BIG) and not await backend.drop_ann(BIG)
    assert await backend.ann_indexes() == {}
    await backend.close()
    ids = [m.id for m in rows[BIG]]
    q = vecs[BIG][7]
    assert await _recall(url, BIG, q, 10) == _exact(vecs[BIG], ids, q, 10)
