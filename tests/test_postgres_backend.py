"""What is specific to the PostgreSQL backend: schema, errors, atomicity, scoped search."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest

from agentmem import (
    BackendError,
    BackendUnavailable,
    ConfigError,
    DimensionMismatch,
    HashingEmbedder,
    HybridMemory,
    Memory,
    MemoryLink,
    MemoryTier,
    MemoryType,
    PostgresBackend,
    PostgresConfig,
)
from agentmem.backends._pg_schema import EXPECTED_INDEXES, SCHEMA_VERSION
from agentmem.backends.base import StoreInfo
from agentmem.settings import redact_url


class OtherModel(HashingEmbedder):
    """Same dimension, different model: must still be refused."""

    @property
    def model_id(self) -> str:
        return "some-other-model"


async def test_uninitialised_database_is_refused_with_a_fix(new_database) -> None:  # type: ignore[no-untyped-def]
    backend = PostgresBackend(new_database())
    with pytest.raises(ConfigError, match="agentmem migrate"):
        await backend.check(StoreInfo("hashing-v1", 8))
    memory = HybridMemory(embedder=HashingEmbedder(8), postgres=PostgresBackend(new_database()))
    with pytest.raises(ConfigError, match="schema version 0"):
        memory.remember("x", "a")
    memory.close()


async def test_init_is_idempotent_and_creates_every_index(new_database) -> None:  # type: ignore[no-untyped-def]
    backend = PostgresBackend(new_database())
    info = StoreInfo("hashing-v1", 16)
    await backend.init(info)
    await backend.init(info)
    await backend.check(info)
    facts = await backend.describe()
    assert facts["schema_version"] == SCHEMA_VERSION
    assert facts["pgvector_version"] >= "0.8"
    assert facts["missing_indexes"] == [] and set(EXPECTED_INDEXES) <= set(facts["indexes"])
    assert (facts["model_id"], facts["dimension"]) == ("hashing-v1", 16)
    await backend.close()


def test_reopening_with_another_model_or_dimension_fails(new_database) -> None:  # type: ignore[no-untyped-def]
    url = new_database()
    HybridMemory(embedder=HashingEmbedder(16), postgres=PostgresBackend(url)).init()
    for embedder, named in ((HashingEmbedder(32), "dimension 32"),
                            (OtherModel(16), "some-other-model")):
        memory = HybridMemory(embedder=embedder, postgres=PostgresBackend(url))
        with pytest.raises(DimensionMismatch, match=named) as err:
            memory.recall("q", "agent")
        assert "hashing-v1" in str(err.value) and "dimension 16" in str(err.value)
        assert "AGENTMEM_EMBEDDINGS=hashing:16" in str(err.value)  # what opens the store
        with pytest.raises(DimensionMismatch):
            memory.init()
        memory.close()


async def test_unreachable_server_names_the_url() -> None:
    backend = PostgresBackend(PostgresConfig("postgresql://bob:hunter2@127.0.0.1:1/x",
                                             connect_timeout=3))
    with pytest.raises(BackendUnavailable, match=r"127\.0\.0\.1:1") as err:
        await backend.check(StoreInfo("hashing-v1", 8))
    assert "hunter2" not in str(err.value) and "AGENTMEM_POSTGRES_URL" in str(err.value)


def test_redact_url() -> None:
    assert redact_url("postgresql://u:secret@h:5/db") == "postgresql://u:***@h:5/db"
    assert redact_url("postgresql://h/db") == "postgresql://h/db"


async def test_a_failing_row_rolls_back_the_whole_batch(pg_url: str, agent_id: str) -> None:
    backend = PostgresBackend(pg_url)
    await backend.check(StoreInfo("hashing-v1", 64))
    good = [Memory(content=f"row {i}", agent_id=agent_id) for i in range(4)]
    # Bypass model validation so the database itself rejects the row (CHECK constraint).
    bad = Memory.model_construct(**{**good[0].model_dump(), "id": "bad", "importance": 7.0})
    vectors = HashingEmbedder(64).embed_documents(["row"] * 5)
    with pytest.raises(BackendError, match="importance"):
        await backend.upsert([*good[:2], bad, *good[2:]], vectors)
    counts = await backend.count(agent_id, memory_types=list(MemoryType))
    assert sum(counts.values()) == 0
    await backend.upsert(good, vectors[:4])
    assert sum((await backend.count(agent_id, memory_types=list(MemoryType))).values()) == 4
    await backend.close()


async def test_hostile_strings_are_data_not_sql(pg_url: str, agent_id: str) -> None:
    backend = PostgresBackend(pg_url)
    await backend.check(StoreInfo("hashing-v1", 64))
    evil = "x'); DROP TABLE agentmem_memories; --"
    m = Memory(content=evil, agent_id=agent_id, metadata={"k": evil}, id=evil)
    await backend.upsert([m], HashingEmbedder(64).embed_documents([evil]))
    from agentmem.filters import parse_filter

    found = await backend.list_memories(agent_id, memory_types=list(MemoryType),
                               where=parse_filter({"k": evil}))
    assert [x.id for x in found] == [evil]
    await backend.close()


# -- scoped recall must be complete and exact ------------------------------------------

AGENTS, PER_AGENT, SDIM = 100, 200, 48


@pytest.fixture(scope="module")
def crowded(new_database):  # type: ignore[no-untyped-def]
    """100 agents sharing one table of 20,000 rows, with their vectors kept for numpy."""
    url = new_database()
    rng = np.random.default_rng(7)
    vectors = rng.normal(size=(AGENTS * PER_AGENT, SDIM)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    types = list(MemoryType)
    rows = [Memory(id=f"m{i}", content=f"memory {i}", agent_id=f"agent-{i % AGENTS}",
                   memory_type=types[i % 3], metadata={"bucket": i % 7})
            for i in range(AGENTS * PER_AGENT)]
    memory = HybridMemory(embedder=HashingEmbedder(SDIM), postgres=PostgresBackend(url))
    memory.init()
    for start in range(0, len(rows), 5000):
        memory.remember_many(rows[start:start + 5000], vectors[start:start + 5000].tolist())
    memory.close()
    return url, rows, vectors


Keep = Callable[[Memory], bool]


def _exact(rows: list[Memory], vectors: np.ndarray, agent: str, q: np.ndarray, k: int,
           keep: Keep) -> list[str]:
    idx = [i for i, m in enumerate(rows) if m.agent_id == agent and keep(m)]
    sims = vectors[idx] @ q
    order = np.argsort(-sims, kind="stable")[:k]
    return [rows[idx[j]].id for j in order]


# Planner settings that push PostgreSQL towards any index scan it can find, as it does on
# big tables; with a global HNSW index (schema 1), a plain ``WHERE agent_id = … ORDER BY
# embedding <=> q`` returned 0.45 rows on average for k=10 on this data set.
_FORCE_HNSW = "&options=-c%20enable_seqscan%3Doff%20-c%20enable_bitmapscan%3Doff%20-c%20enable_sort%3Doff"


async def _build_ann(url: str, agents: list[str]) -> None:
    backend = PostgresBackend(url)
    await backend.check(StoreInfo("hashing-v1", SDIM))
    for agent in agents:
        await backend.build_ann(agent, ef_search=10)  # a small ef: filters make scans come up short
    await backend.close()


@pytest.mark.parametrize("search", ["exact", "auto", "auto-forced"])
async def test_scoped_recall_is_complete(crowded, search: str) -> None:  # type: ignore[no-untyped-def]
    url, rows, vectors = crowded
    if search != "exact":
        await _build_ann(url, ["agent-17", "agent-42"])  # two agents recalled through ANN
    if search == "auto-forced":
        url, search = url + _FORCE_HNSW, "auto"
    memory = HybridMemory(embedder=HashingEmbedder(SDIM), postgres=PostgresBackend(
        PostgresConfig(url, search="exact" if search == "exact" else "auto")))
    rng = np.random.default_rng(11)
    overlap = []
    for agent_no in (0, 17, 42, 99):
        agent = f"agent-{agent_no}"
        for _ in range(3):
            q = rng.normal(size=SDIM).astype(np.float32)
            q /= np.linalg.norm(q)
            cases: list[tuple[int, list[str] | None, dict[str, object] | None, Keep]] = [
                (10, None, None, lambda m: True),
                (500, None, None, lambda m: True),
                (10, ["semantic"], None, lambda m: m.memory_type is MemoryType.SEMANTIC),
                (5, None, {"bucket": {"$in": [1, 2]}}, lambda m: m.metadata["bucket"] in (1, 2)),
            ]
            for k, types, flt, keep in cases:
                want = _exact(rows, vectors, agent, q, k, keep)
                got = [h.memory.id for h in await memory.arecall_by_vector(
                    q.tolist(), agent, k=k, memory_types=types, filter=flt)]
                matching = sum(1 for m in rows if m.agent_id == agent and keep(m))
                assert len(got) == len(want) == min(k, matching)
                assert all(h.startswith("m") for h in got)
                if search == "exact" or agent_no not in (17, 42):
                    assert got == want  # the exact plan, whatever the mode
                overlap.append(len(set(got) & set(want)) / len(want))
    # The ANN path is approximate by nature but must stay close to exact.
    assert np.mean(overlap) >= (1.0 if search == "exact" else 0.9)
    await memory.aclose()


async def test_a_schema_1_store_migrates_without_losing_a_row(new_database) -> None:  # type: ignore[no-untyped-def]
    """Schema 2 drops the shared HNSW index and turns the needs_index flag into the queue;
    schema 3 re-indexes existing text with agentmem's own analyzer; schema 4 adds links;
    schema 5 gives every row a tier."""
    import psycopg

    from agentmem.backends import _pg_schema as schema

    url, info = new_database(), StoreInfo("hashing-v1", 4)
    with psycopg.connect(url, autocommit=True) as conn:  # a store as agentmem 0.1 left it
        conn.execute("CREATE EXTENSION IF NOT EXISTS vector")
        for stmt in schema.migration_statements(1, 4):
            conn.execute(stmt)
        conn.execute("CREATE TABLE agentmem_migrations (version int PRIMARY KEY,"
                     " applied_at timestamptz NOT NULL DEFAULT now())")
        conn.execute("INSERT INTO agentmem_migrations (version) VALUES (1)")
        conn.execute("INSERT INTO agentmem_meta VALUES ('model_id', 'hashing-v1'), ('dimension', '4')")
        for i, pending in enumerate([True, False, True]):
            conn.execute(
                "INSERT INTO agentmem_memories (agent_id, id, memory_type, content, embedding,"
                " importance, created_at, updated_at, needs_index) VALUES ('a', %s, 'episodic',"
                " %s, '[1,0,0,0]', %s, now(), now(), %s)",
                [f"m{i}", ["whales singing", "cats sleep", "what is it"][i], [0.95, 0.5, 0.2][i],
                 pending])
    backend = PostgresBackend(url)
    with pytest.raises(ConfigError, match="schema version 1"):
        await backend.check(info)
    await backend.init(info)
    assert [m.id for m in await backend.list_memories("a", memory_types=list(MemoryType))] == [
        "m0", "m1", "m2"]
    assert await backend.pending_count("a") == 2  # the two rows Chroma never had
    facts = await backend.describe()
    assert "agentmem_memories_embedding_idx" not in facts["indexes"]
    assert facts["schema_version"] == SCHEMA_VERSION == 5
    assert "agentmem_memories_lexemes_idx" in facts["indexes"]
    assert not facts["missing_indexes"]
    # schema 4: links between the migrated rows
    assert await backend.link("a", [MemoryLink(source_id="m0", target_id="m1",
                                               relation="related_to")]) == 1
    assert [r.memory.id for r in await backend.related("a", ["m1"])] == ["m0"]
    # schema 5: tiers from importance under the default policy
    assert [m.tier for m in await backend.get("a", ["m0", "m1", "m2"])] == [
        MemoryTier.PERMANENT, MemoryTier.SHORT_TERM, MemoryTier.WORKING]
    hits = await backend.search_text("a", "whale sings", k=5, memory_types=list(MemoryType))
    assert [h.memory.id for h in hits] == ["m0"]  # stemmed: whales/whale, singing/sings
    assert await backend.search_text("a", "what", k=5, memory_types=list(MemoryType)) == []
    await backend.close()
