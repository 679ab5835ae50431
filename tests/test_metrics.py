"""The Metrics recorder, facade instrumentation, StoreSizes and the Prometheus collector."""

from __future__ import annotations

import asyncio
import bisect
import math
import uuid
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from agentmem import HashingEmbedder, HybridMemory, InvalidInput, Metrics, MetricsSnapshot
from agentmem._twins import _measured
from agentmem.backends.base import StoreSizes
from agentmem.ops.metrics import BUCKETS, bucket_quantile
from tests.conftest import DIM, make_memory

EDGES = (0.0, *BUCKETS, math.inf)


def bucket_edges(x: float) -> tuple[float, float]:
    """(lower, upper) edge of the bucket holding ``x``."""
    i = bisect.bisect_left(BUCKETS, x)
    return EDGES[i], EDGES[i + 1]


@settings(max_examples=200, deadline=None)
@given(values=st.lists(st.floats(min_value=1e-5, max_value=20.0), min_size=1, max_size=300),
       q=st.sampled_from([0.5, 0.95]))
def test_bucket_quantiles_are_within_a_bucket_of_the_exact_percentile(
        values: list[float], q: float) -> None:
    metrics = Metrics()
    for v in values:
        metrics.observe("recall", v)
    stats = metrics.snapshot().operations["recall"]
    est = stats.p50 if q == 0.5 else stats.p95
    exact = float(np.percentile(values, q * 100))
    # The estimate lies in the bucket of the order statistic at rank ceil(q n); numpy's
    # percentile lies between those of ranks floor(q n) and ceil(q n) + 1.
    ordered, rank = sorted(values), q * len(values)
    lo = bucket_edges(ordered[max(math.floor(rank), 1) - 1])[0]
    hi = bucket_edges(ordered[min(math.ceil(rank) + 1, len(values)) - 1])[1]
    assert est is not None
    assert lo <= est <= hi and lo <= exact <= hi
    assert min(values) <= est <= max(values)
    assert stats.count == len(values) and sum(stats.buckets) == len(values)
    assert stats.total_seconds == pytest.approx(sum(values))


def test_bucket_quantile_interpolates_and_handles_edges() -> None:
    bounds = (1.0, 2.0, 4.0)
    assert bucket_quantile(0.5, bounds, [0, 0, 0, 0]) is None
    assert bucket_quantile(0.5, bounds, [0, 10, 0]) == pytest.approx(1.5)
    assert bucket_quantile(0.25, bounds, [5, 0, 5]) == pytest.approx(0.5)
    assert bucket_quantile(0.95, bounds, [1, 0, 0, 9]) == 4.0  # overflow: the last bound
    with pytest.raises(ValueError, match="quantile"):
        bucket_quantile(1.5, bounds, [1, 0, 0])
    with pytest.raises(ValueError, match="non-negative"):
        Metrics().observe("recall", -1.0)


def test_errors_are_counted_by_type_and_reset_forgets() -> None:
    metrics = Metrics()
    metrics.observe("get", 0.002, "NotFound")
    metrics.observe("get", 0.003, "NotFound")
    metrics.observe("get", 0.001)
    snap = metrics.snapshot()
    assert isinstance(snap, MetricsSnapshot)
    assert snap.operations["get"].errors == {"NotFound": 2}
    assert snap.as_dict()["get"]["error_count"] == 2 and snap.as_dict()["get"]["count"] == 3
    metrics.reset()
    assert metrics.snapshot().operations == {}


def test_no_recorder_means_the_coroutine_is_passed_through() -> None:
    async def work() -> int:
        return 1

    coro = work()
    assert _measured(object(), "work", coro) is coro
    assert asyncio.run(coro) == 1


def test_every_facade_operation_is_timed_with_its_errors(pg_url: str, agent_id: str) -> None:
    from agentmem import PostgresBackend

    metrics = Metrics()
    memory = HybridMemory(embedder=HashingEmbedder(DIM), postgres=PostgresBackend(pg_url),
                          metrics=metrics)
    try:
        for text in ("dark mode", "light mode", "tabs over spaces"):
            memory.remember(text, agent_id)
        asyncio.run(memory.aremember("async twin", agent_id))  # the async twin counts too
        memory.recall("mode", agent_id, k=2)
        with pytest.raises(InvalidInput):
            memory.remember("   ", agent_id)
        with pytest.raises(InvalidInput):
            asyncio.run(memory.arecall("", agent_id))
        memory.add_turn("s-1", agent_id, "user", "hi")
    finally:
        memory.close()
    ops = metrics.snapshot().operations
    assert ops["remember"].count == 5 and ops["remember"].errors == {"InvalidInput": 1}
    assert ops["recall"].count == 2 and ops["recall"].errors == {"InvalidInput": 1}
    assert ops["add_turn"].count == 1 and ops["add_turn"].error_count == 0
    assert ops["close"].count == 1
    assert all(s.p50 is not None and s.p50 >= 0 for s in ops.values())


def test_sizes_grow_after_writes_on_every_backend(memory: Any, agent_id: str) -> None:
    backend = memory.backend
    assert isinstance(backend, StoreSizes)
    before = asyncio.run(_sizes(backend, agent_id))
    assert all(s.memories == 0 and s.turns == 0 for s in before)
    memory.remember("one", agent_id)
    memory.remember("two", agent_id, memory_type="semantic")
    memory.add_turn("s-1", agent_id, "user", "hello")
    memory.flush_index(agent_id)
    after = {s.store: s for s in asyncio.run(_sizes(backend, agent_id))}
    expected = {"pgvector": {"postgres"}, "chroma": {"chroma"},
                "hybrid": {"postgres", "chroma"}}[memory.mode]
    assert set(after) == expected
    assert all(s.memories == 2 for s in after.values())
    if "postgres" in after:
        pg = after["postgres"]
        assert pg.turns == 1 and pg.table_bytes is not None and pg.index_bytes is not None
        assert pg.table_bytes > pg.index_bytes > 0
    if "chroma" in after:
        ch = after["chroma"]
        assert ch.table_bytes is None
        assert ch.collections[f"{agent_id}/episodic"] == 1
        assert ch.collections[f"{agent_id}/semantic"] == 1
        assert ch.turns == (0 if memory.mode == "hybrid" else 1)  # hybrid: turns in PG only
    everyone = asyncio.run(_sizes(backend, None))
    assert all(e.memories >= 2 for e in everyone)


async def _sizes(backend: Any, agent_id: str | None) -> Any:
    from agentmem._runner import shared_runner

    return await shared_runner().arun(backend.sizes(agent_id))


def test_prometheus_collector_exposes_operations_sizes_and_rss(
        pg_url: str, chroma_url: str) -> None:
    from prometheus_client import generate_latest
    from prometheus_client.parser import text_string_to_metric_families

    from agentmem.ops.exposition import registry_for

    agent = f"agent-{uuid.uuid4().hex[:10]}"
    memory = make_memory("hybrid", pg_url, chroma_url)
    memory.metrics = Metrics()
    try:
        memory.remember("scraped", agent)
        with pytest.raises(InvalidInput):
            memory.remember("", agent)
        registry = registry_for(memory, size_ttl=3600)
        first = generate_latest(registry).decode()
        memory.remember("after the first scrape", agent)
        second = generate_latest(registry).decode()
    finally:
        memory.close()
    samples = {(s.name, tuple(sorted(s.labels.items()))): s.value
               for f in text_string_to_metric_families(second) for s in f.samples}
    assert samples[("agentmem_operations_total", (("operation", "remember"),))] == 3
    assert samples[("agentmem_operation_errors_total",
                    (("error", "InvalidInput"), ("operation", "remember")))] == 1
    assert samples[("agentmem_operation_duration_seconds_bucket",
                    (("le", "+Inf"), ("operation", "remember")))] == 3
    assert samples[("agentmem_store_up", ())] == 1
    assert samples[("agentmem_process_resident_memory_bytes", ())] > 0
    stores = {dict(k[1])["store"]: v for k, v in samples.items()
              if k[0] == "agentmem_store_memories"}
    assert set(stores) == {"postgres", "chroma"} and stores["postgres"] >= 1
    # Sizes are cached: the second scrape did not read them again (one "sizes" call).
    assert samples[("agentmem_operations_total", (("operation", "sizes"),))] == 1
    assert "agentmem_index_pending" in first


def test_the_asgi_app_serves_metrics_and_health_where_it_is_mounted(
        pg_url: str, chroma_url: str) -> None:
    from agentmem.ops.metrics import asgi_app

    memory = make_memory("pgvector", pg_url, chroma_url)
    memory.metrics = Metrics()
    app = asgi_app(memory)

    async def call(path: str) -> tuple[int, bytes]:
        sent: list[dict[str, Any]] = []

        async def receive() -> dict[str, Any]:
            return {"type": "http.request", "body": b"", "more_body": False}

        async def send(message: dict[str, Any]) -> None:
            sent.append(message)

        await app({"type": "http", "method": "GET", "path": path}, receive, send)
        return sent[0]["status"], sent[1]["body"]

    try:
        memory.stats(f"agent-{uuid.uuid4().hex[:10]}")
        health = asyncio.run(call("/agentmem/healthz"))
        metrics = asyncio.run(call("/agentmem/metrics"))
        missing = asyncio.run(call("/agentmem/other"))
    finally:
        memory.close()
    assert health == (200, b'{"status": "ok", "mode": "pgvector"}')
    assert metrics[0] == 200 and b'agentmem_operations_total{operation="stats"} 1.0' in metrics[1]
    assert missing[0] == 404
