"""Hybrid mode: PostgreSQL is the source of truth, Chroma a rebuildable index."""

from __future__ import annotations

import asyncio
import time

from agentmem import (
    ChromaBackend,
    HashingEmbedder,
    HybridBackend,
    HybridMemory,
    Memory,
    MemoryType,
    PostgresBackend,
    PostgresConfig,
)
from agentmem.backends.base import StoreInfo
from tests.conftest import DIM
from tests.servers import ChromaServer


def _hybrid(pg_url: str, chroma: ChromaServer, **options: object) -> HybridMemory:
    backend = HybridBackend(PostgresBackend(pg_url), ChromaBackend(chroma.url), **options)  # type: ignore[arg-type]
    m = HybridMemory(embedder=HashingEmbedder(DIM), backend=backend)
    m.init()
    return m


async def _index_ids(chroma: ChromaServer, agent_id: str, query: list[float]) -> set[str]:
    backend = ChromaBackend(chroma.url)
    await backend.check(StoreInfo("hashing-v1", DIM))
    hits = await backend.query(agent_id, query, k=100, memory_types=list(MemoryType))
    await backend.close()
    return {h.memory.id for h in hits}


async def test_write_with_chroma_down_is_durable_and_reindex_heals(
        pg_url: str, own_chroma: ChromaServer, agent_id: str) -> None:
    memory = _hybrid(pg_url, own_chroma)
    first = memory.remember("written while chroma is up", agent_id)
    assert memory.flush_index(agent_id) == 0  # the background copy already took it
    assert memory.stats(agent_id).pending_index == 0
    own_chroma.stop()
    second = memory.remember("written while chroma is down", agent_id)  # acknowledged
    assert memory.flush_index(agent_id) == 0  # Chroma is down: nothing copied, nothing lost
    assert memory.get(second.id, agent_id).content == "written while chroma is down"
    assert memory.stats(agent_id).pending_index == 1
    # recall is complete without Chroma: served from PostgreSQL
    assert {h.memory.id for h in memory.recall("written chroma", agent_id, k=5)} == {
        first.id, second.id}
    own_chroma.start()
    vec = HashingEmbedder(DIM).embed_query("written chroma")
    assert await _index_ids(own_chroma, agent_id, vec) == {first.id}
    assert memory.reindex(agent_id) == 2
    assert memory.stats(agent_id).pending_index == 0
    assert await _index_ids(own_chroma, agent_id, vec) == {first.id, second.id}
    memory.close()


async def test_deletes_reach_the_index_through_the_queue(
        pg_url: str, own_chroma: ChromaServer, agent_id: str) -> None:
    memory = _hybrid(pg_url, own_chroma)
    keep = memory.remember("alpha keep", agent_id)
    gone = memory.remember("alpha gone", agent_id)
    memory.flush_index(agent_id)
    own_chroma.stop()
    assert memory.forget(gone.id, agent_id) == 1  # Chroma still holds it; the drop is queued
    memory.flush_index(agent_id)
    assert memory.stats(agent_id).pending_index == 1
    own_chroma.start()
    vec = HashingEmbedder(DIM).embed_query("alpha")
    assert gone.id in await _index_ids(own_chroma, agent_id, vec)
    assert [h.memory.id for h in memory.recall("alpha", agent_id, k=5)] == [keep.id]
    assert memory.flush_index(agent_id) == 1  # the queued delete, no reindex needed
    assert await _index_ids(own_chroma, agent_id, vec) == {keep.id}
    assert memory.stats(agent_id).pending_index == 0
    memory.close()


async def _write_unqueued(pg_url: str, memory: HybridMemory, hidden: Memory) -> None:
    """A row written straight to PostgreSQL, never queued: invisible to the index."""
    pg = PostgresBackend(pg_url)
    await pg.check(memory.info)
    await pg.upsert([hidden], HashingEmbedder(DIM).embed_documents([hidden.content]))
    await pg.close()


async def test_a_large_agent_is_recalled_through_the_index_when_it_is_complete(
        pg_url: str, own_chroma: ChromaServer, agent_id: str) -> None:
    memory = _hybrid(pg_url, own_chroma, index_min_rows=2)
    m = memory.remember("indexed fact about whales", agent_id, memory_type="semantic")
    memory.remember("indexed fact about cats", agent_id, memory_type="semantic")
    memory.flush_index(agent_id)
    hidden = Memory(content="unindexed fact about whales", agent_id=agent_id)
    await _write_unqueued(pg_url, memory, hidden)
    # Seeing the hidden row missing proves recall went through Chroma.
    assert [h.memory.id for h in memory.recall("whales", agent_id, lexical_weight=0, k=1)] == [m.id]
    assert hidden.id not in {h.memory.id for h in memory.recall("whales", agent_id, lexical_weight=0, k=3)}
    memory.reindex(agent_id)
    assert hidden.id in {h.memory.id for h in memory.recall("whales", agent_id, lexical_weight=0, k=3)}
    # While anything of the agent is queued, the index is not complete: PostgreSQL answers.
    own_chroma.stop()
    fresh = memory.remember("fresh fact about whales", agent_id)
    assert fresh.id in {h.memory.id for h in memory.recall("whales", agent_id, lexical_weight=0, k=4)}
    memory.close()


async def test_a_small_agent_is_recalled_from_postgres(
        pg_url: str, own_chroma: ChromaServer, agent_id: str) -> None:
    memory = _hybrid(pg_url, own_chroma)  # default threshold: this agent is small
    memory.remember("indexed fact about whales", agent_id)
    memory.flush_index(agent_id)
    hidden = Memory(content="unindexed fact about whales", agent_id=agent_id)
    await _write_unqueued(pg_url, memory, hidden)
    assert hidden.id in {h.memory.id for h in memory.recall("whales", agent_id, lexical_weight=0, k=3)}
    memory.close()


async def test_a_large_agent_with_its_own_ann_index_is_recalled_from_postgres(
        pg_url: str, own_chroma: ChromaServer, agent_id: str) -> None:
    primary = PostgresBackend(PostgresConfig(pg_url, ann_refresh_seconds=0))  # sees new indexes
    memory = HybridMemory(embedder=HashingEmbedder(DIM), backend=HybridBackend(
        primary, ChromaBackend(own_chroma.url), index_min_rows=2))
    memory.init()
    for topic in ("whales", "cats", "owls"):
        memory.remember(f"indexed fact about {topic}", agent_id)
    memory.flush_index(agent_id)
    hidden = Memory(content="unindexed fact about whales", agent_id=agent_id)
    await _write_unqueued(pg_url, memory, hidden)
    assert hidden.id not in {h.memory.id for h in memory.recall("whales", agent_id, lexical_weight=0, k=4)}
    pg = PostgresBackend(pg_url)  # e.g. `agentmem optimize` in another process
    await pg.check(memory.info)
    await pg.build_ann(agent_id)
    await pg.close()
    assert hidden.id in {h.memory.id for h in memory.recall("whales", agent_id, lexical_weight=0, k=4)}
    memory.close()


def test_flush_waits_for_another_drainer_of_the_agent(pg_url: str, own_chroma: ChromaServer,
                                                      agent_id: str) -> None:
    """An explicit flush returns only once the agent's queue is copied, even while another
    process's drainer holds the agent (it used to skip the agent and return at once)."""
    import threading

    import psycopg

    from agentmem.backends.postgres import _DRAIN_LOCK

    memory = _hybrid(pg_url, own_chroma, debounce=0.05, max_delay=0.1)
    copied: list[int] = []
    with psycopg.connect(pg_url, autocommit=True) as other:
        other.execute("SELECT pg_advisory_lock(%s, hashtext(%s))", [_DRAIN_LOCK, agent_id])
        stored = memory.remember("queued while another drainer holds the agent", agent_id)
        time.sleep(0.5)  # the background copy tried the agent, found it held and moved on
        assert memory.stats(agent_id).pending_index == 1
        flusher = threading.Thread(target=lambda: copied.append(memory.flush_index(agent_id)))
        flusher.start()
        flusher.join(timeout=1.0)
        assert flusher.is_alive() and copied == []  # waiting, not skipping
        other.execute("SELECT pg_advisory_unlock(%s, hashtext(%s))", [_DRAIN_LOCK, agent_id])
        flusher.join(timeout=60)
    assert copied == [1] and memory.stats(agent_id).pending_index == 0
    vec = HashingEmbedder(DIM).embed_query("queued drainer")
    assert stored.id in asyncio.run(_index_ids(own_chroma, agent_id, vec))
    memory.close()
