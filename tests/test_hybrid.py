"""Hybrid mode: PostgreSQL is the source of truth, Chroma a rebuildable index."""

from __future__ import annotations

from agentmem import (
    ChromaBackend,
    HashingEmbedder,
    HybridMemory,
    Memory,
    MemoryType,
    PostgresBackend,
)
from agentmem.backends.base import StoreInfo
from tests.conftest import DIM
from tests.servers import ChromaServer


def _hybrid(pg_url: str, chroma: ChromaServer) -> HybridMemory:
    m = HybridMemory(embedder=HashingEmbedder(DIM), postgres=PostgresBackend(pg_url),
                     chroma=ChromaBackend(chroma.url))
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
    own_chroma.stop()
    second = memory.remember("written while chroma is down", agent_id)  # acknowledged
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


async def test_stale_index_entries_are_never_served(
        pg_url: str, own_chroma: ChromaServer, agent_id: str) -> None:
    memory = _hybrid(pg_url, own_chroma)
    keep = memory.remember("alpha keep", agent_id)
    gone = memory.remember("alpha gone", agent_id)
    own_chroma.stop()
    assert memory.forget(gone.id, agent_id) == 1  # Chroma still holds it
    own_chroma.start()
    vec = HashingEmbedder(DIM).embed_query("alpha")
    assert gone.id in await _index_ids(own_chroma, agent_id, vec)
    assert [h.memory.id for h in memory.recall("alpha", agent_id, k=5)] == [keep.id]
    memory.reindex()
    assert await _index_ids(own_chroma, agent_id, vec) == {keep.id}
    memory.close()


async def test_recall_is_served_by_the_index_when_in_sync(
        pg_url: str, own_chroma: ChromaServer, agent_id: str) -> None:
    memory = _hybrid(pg_url, own_chroma)
    m = memory.remember("indexed fact about whales", agent_id, memory_type="semantic")
    # A row written straight to PostgreSQL, unmarked, is invisible to the index:
    # seeing it missing proves recall went through Chroma.
    hidden = Memory(content="unindexed fact about whales", agent_id=agent_id)
    pg = PostgresBackend(pg_url)
    await pg.check(memory.info)
    await pg.upsert([hidden], HashingEmbedder(DIM).embed_documents([hidden.content]))
    await pg.close()
    assert [h.memory.id for h in memory.recall("whales", agent_id, k=3)] == [m.id]
    memory.reindex(agent_id)
    assert {h.memory.id for h in memory.recall("whales", agent_id, k=3)} == {m.id, hidden.id}
    memory.close()
