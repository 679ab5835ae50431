"""What is specific to the Chroma backend: layout, filter translation, error mapping,
the lossless record, type changes of an id, dimensions, turns and cross-type merging."""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import AsyncIterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import chromadb
import numpy as np
import pytest
from chromadb.config import Settings

from agentmem.backends.base import StoreInfo
from agentmem.backends.chroma import NEVER, ChromaBackend, to_chroma_where
from agentmem.errors import (
    BackendError,
    BackendUnavailable,
    ConfigError,
    DimensionMismatch,
    InvalidFilter,
    InvalidInput,
)
from agentmem.filters import And, Comparison, Or, parse_filter
from agentmem.models import ChatTurn, Memory, MemoryType
from tests.servers import ChromaServer

DIM = 8
INFO = StoreInfo("test-model", DIM)
E, S, P = MemoryType.EPISODIC, MemoryType.SEMANTIC, MemoryType.PROCEDURAL
T0 = datetime(2024, 5, 17, 12, 30, 45, 123456, tzinfo=timezone.utc)


def vec(*weights: float) -> list[float]:
    """A unit vector of dimension 8 from its first few coordinates."""
    v = np.zeros(DIM)
    v[: len(weights)] = weights
    return list(v / np.linalg.norm(v))


def mem(agent_id: str, content: str, **kw: Any) -> Memory:
    return Memory(agent_id=agent_id, content=content, **kw)


def raw_client(location: str) -> Any:
    """A plain chromadb client, to look at what the backend stored."""
    settings = Settings(anonymized_telemetry=False)
    if location.startswith("http"):
        parts = urlsplit(location)
        return chromadb.HttpClient(host=parts.hostname or "", port=parts.port or 8000,
                                   settings=settings)
    return chromadb.PersistentClient(path=location, settings=settings)


def collection_name(prefix: str, kind: str, agent_id: str) -> str:
    return f"{prefix}-{kind}-{hashlib.sha256(agent_id.encode()).hexdigest()[:32]}"


@pytest.fixture(params=["server", "directory"])
def location(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "server":
        return str(request.getfixturevalue("chroma_url"))
    return str(tmp_path / "chroma")


@pytest.fixture
async def backend(location: str) -> AsyncIterator[ChromaBackend]:
    b = ChromaBackend(location, prefix=f"t{uuid.uuid4().hex[:12]}")
    await b.init(INFO)
    yield b
    await b.close()


# -- the filter translator (pure) -------------------------------------------------------

TRANSLATIONS: list[tuple[dict[str, Any], dict[str, Any]]] = [
    ({"topic": "ml"}, {"topic": {"$eq": "ml"}}),
    ({"n": {"$gte": 3}}, {"n": {"$gte": 3}}),
    ({"importance": {"$gt": 0.7}}, {"_am_importance": {"$gt": 0.7}}),
    ({"id": {"$in": ["a", "b"]}}, {"_am_id": {"$in": ["a", "b"]}}),
    ({"user_id": {"$nin": ["u"]}}, {"_am_user_id": {"$nin": ["u"]}}),
    ({"session_id": {"$ne": "s"}}, {"_am_session_id": {"$ne": "s"}}),
    ({"created_at": {"$lt": T0}}, {"_am_created_at": {"$lt": T0.timestamp()}}),
    ({"updated_at": T0}, {"_am_updated_at": {"$eq": T0.timestamp()}}),
    ({"expires_at": {"$gt": T0}},
     {"$and": [{"_am_expires_at": {"$gt": T0.timestamp()}}, {"_am_expires_at": {"$ne": NEVER}}]}),
    ({"expires_at": {"$ne": T0}}, {"_am_expires_at": {"$ne": T0.timestamp()}}),
    ({"n": {"$in": [1, 2.5]}}, {"n": {"$in": [1.0, 2.5]}}),
    ({"n": {"$in": [1, 2]}}, {"n": {"$in": [1, 2]}}),
    ({"flag": {"$in": [True]}}, {"flag": {"$in": [True]}}),
    ({"a": 1, "b": {"$lt": 2, "$gt": 0}},
     {"$and": [{"a": {"$eq": 1}}, {"b": {"$lt": 2}}, {"b": {"$gt": 0}}]}),
    ({"$or": [{"a": 1}, {"$and": [{"b": "x"}, {"c": False}]}]},
     {"$or": [{"a": {"$eq": 1}}, {"$and": [{"b": {"$eq": "x"}}, {"c": {"$eq": False}}]}]}),
    ({"$and": [{"a": 1}]}, {"a": {"$eq": 1}}),
]


@pytest.mark.parametrize(("raw", "expected"), TRANSLATIONS)
def test_translator(raw: dict[str, Any], expected: dict[str, Any]) -> None:
    assert to_chroma_where(parse_filter(raw)) == expected


def test_translator_edges() -> None:
    assert to_chroma_where(None) is None
    single = Or((Comparison("a", "$eq", 1),))
    assert to_chroma_where(And((single,))) == {"a": {"$eq": 1}}
    with pytest.raises(InvalidFilter, match="_am_record"):
        to_chroma_where(parse_filter({"_am_record": "x"}))
    with pytest.raises(InvalidFilter, match="64 bits"):
        to_chroma_where(parse_filter({"n": {"$in": [1, 2**64]}}))


# -- configuration and errors ----------------------------------------------------------

@pytest.mark.parametrize("prefix", ["", "-lead", "a b", "x" * 33, "dot.ted"])
def test_bad_prefix(prefix: str) -> None:
    with pytest.raises(ConfigError, match="prefix"):
        ChromaBackend("http://127.0.0.1:8000", prefix=prefix)


async def test_unreachable_url() -> None:
    b = ChromaBackend("http://127.0.0.1:1")
    with pytest.raises(BackendUnavailable, match="AGENTMEM_CHROMA_URL") as info:
        await b.init(INFO)
    assert "http://127.0.0.1:1" in str(info.value)
    assert info.value.__cause__ is not None
    with pytest.raises(BackendUnavailable):
        await b.heartbeat()
    await b.close()


async def test_server_going_down(tmp_path: Path, agent_id: str) -> None:
    server = ChromaServer(tmp_path / "data")
    server.start()
    b = ChromaBackend(server.url)
    try:
        await b.init(INFO)
        assert await b.heartbeat() > 0
    finally:
        server.stop()
    with pytest.raises(BackendUnavailable, match=server.url) as info:
        await b.count(agent_id, memory_types=[E])
    assert type(info.value.__cause__).__module__.startswith("httpx")
    await b.close()


async def test_unusable_directory(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    with pytest.raises(BackendError, match="a-file") as info:
        await ChromaBackend(str(blocker)).init(INFO)
    assert info.value.__cause__ is not None


async def test_check_and_init_mismatch(location: str) -> None:
    prefix = f"t{uuid.uuid4().hex[:12]}"
    b = ChromaBackend(location, prefix=prefix)
    with pytest.raises(ConfigError, match="agentmem migrate"):
        await b.check(INFO)
    await b.init(INFO)
    await b.init(INFO)  # idempotent
    await b.check(INFO)
    other = StoreInfo("other-model", 16)
    for call in (b.init, b.check):
        with pytest.raises(DimensionMismatch) as info:
            await call(other)
        text = str(info.value)
        for part in ("test-model", "other-model", "8", "16", "new prefix",
                     "AGENTMEM_EMBEDDINGS=test-model"):
            assert part in text
    with raw_client(location) as client:
        meta = client.get_collection(f"{prefix}-registry", embedding_function=None).metadata
    assert meta == {"model_id": "test-model", "dimension": 8, "schema_version": 1}
    await b.close()


async def test_vector_validation(backend: ChromaBackend, agent_id: str) -> None:
    good, bad = mem(agent_id, "fine"), mem(agent_id, "short")
    with pytest.raises(DimensionMismatch, match=r"dimension 7 .* dimension 8"):
        await backend.upsert([good, bad], [vec(1), vec(1)[:7]])
    with pytest.raises(InvalidInput, match="NaN"):
        await backend.upsert([good], [[float("nan")] * DIM])
    with pytest.raises(InvalidInput, match="1 memories but 2 vectors"):
        await backend.upsert([good], [vec(1), vec(2)])
    with pytest.raises(DimensionMismatch, match="dimension 3"):
        await backend.query(agent_id, [1.0, 0.0, 0.0], k=3, memory_types=[E])
    # validation happens before any write
    assert await backend.count(agent_id, memory_types=[E]) == {E: 0}


async def test_chroma_dimension_error_is_mapped(backend: ChromaBackend, location: str,
                                                agent_id: str) -> None:
    # A collection someone filled with 4-dimensional vectors: Chroma's own check fires.
    with raw_client(location) as client:
        client.create_collection(collection_name(backend.prefix, "episodic", agent_id),
                                 embedding_function=None).add(ids=["x"], embeddings=[[1.0] * 4])
    with pytest.raises(DimensionMismatch, match="dimension") as info:
        await backend.upsert([mem(agent_id, "a")], [vec(1)])
    assert info.value.__cause__ is not None


async def test_clashing_metadata_keys_round_trip_but_are_not_filterable(
        backend: ChromaBackend, agent_id: str) -> None:
    meta = {"_am_id": "mine", "chroma:x": 1, "#doc": True}
    m = mem(agent_id, "b", metadata=meta)
    await backend.upsert([m], [vec(2)])
    assert (await backend.get(agent_id, [m.id]))[0].metadata == meta
    with pytest.raises(InvalidFilter, match="_am_id"):
        await backend.list_memories(agent_id, memory_types=[E], where=parse_filter({"_am_id": "mine"}))


# -- layout and the stored record --------------------------------------------------------

async def test_layout(backend: ChromaBackend, location: str, agent_id: str) -> None:
    m = mem(agent_id, "fact", memory_type=S, metadata={"topic": "ml", "nested": {"a": 1}})
    await backend.upsert([m], [vec(1)])
    await backend.add_turns([ChatTurn(session_id="s", agent_id=agent_id, role="user")])
    with raw_client(location) as client:
        col = client.get_collection(collection_name(backend.prefix, "semantic", agent_id),
                                    embedding_function=None)
        got = col.get(ids=[m.id], include=["documents", "metadatas", "embeddings"])
        names = {c.name for c in client.list_collections() if c.name.startswith(backend.prefix)}
    assert col.metadata == {"agent_id": agent_id, "memory_type": "semantic"}
    assert col.configuration_json["hnsw"]["space"] == "cosine"
    meta = got["metadatas"][0]
    assert got["documents"] == ["fact"]
    assert np.allclose(got["embeddings"][0], vec(1))
    assert meta["topic"] == "ml" and "nested" not in meta
    assert meta["_am_id"] == m.id and meta["_am_expires_at"] == NEVER
    assert "_am_user_id" not in meta and "_am_session_id" not in meta
    assert meta["_am_created_at"] == m.created_at.timestamp()
    assert names == {f"{backend.prefix}-registry",
                     collection_name(backend.prefix, "semantic", agent_id),
                     collection_name(backend.prefix, "turns", agent_id)}


async def test_metadata_round_trip(backend: ChromaBackend, agent_id: str) -> None:
    metadata = {"n": 3, "big": 2**70, "f": 2.5, "ok": True, "none": None, "ü": "日本語 ✓",
                "nested": {"list": [1, "two", {"three": 3.0}], "empty": {}}, "": "blank",
                "$odd": 1}
    m = mem(agent_id, "héllo 🌍", metadata=metadata, user_id="u1", session_id="s1",
            importance=0.25, created_at=T0, updated_at=T0 + timedelta(microseconds=1),
            expires_at=T0 + timedelta(days=9999), source_ids=["x", "y"])
    await backend.upsert([m], [vec(1)])
    [back] = await backend.get(agent_id, [m.id])
    assert back == m
    assert type(back.metadata["n"]) is int and back.metadata["big"] == 2**70
    assert back.created_at.microsecond == 123456
    # flat copies filter with their native types
    for raw in ({"n": 3}, {"n": {"$gt": 2.5}}, {"ok": True}, {"user_id": "u1"},
                {"created_at": T0}, {"importance": {"$lt": 0.3}}, {"f": {"$in": [1, 2.5]}}):
        assert await backend.count(agent_id, memory_types=[E], where=parse_filter(raw)) == {E: 1}
    assert await backend.count(agent_id, memory_types=[E],
                               where=parse_filter({"ok": 1})) == {E: 0}


async def test_expires_at_filter_treats_no_expiry_as_missing(
        backend: ChromaBackend, agent_id: str) -> None:
    never = mem(agent_id, "forever")
    soon = mem(agent_id, "soon", expires_at=T0 + timedelta(days=3650))
    await backend.upsert([never, soon], [vec(1), vec(2)])

    async def ids(raw: dict[str, Any]) -> set[str]:
        found = await backend.list_memories(agent_id, memory_types=[E], where=parse_filter(raw))
        return {m.id for m in found}

    assert await ids({"expires_at": {"$gt": T0}}) == {soon.id}
    assert await ids({"expires_at": {"$lt": datetime.max.replace(tzinfo=timezone.utc)}}) == {
        soon.id}
    assert await ids({"expires_at": {"$ne": T0}}) == {never.id, soon.id}


async def test_type_change_moves_the_id(backend: ChromaBackend, location: str,
                                        agent_id: str) -> None:
    m = mem(agent_id, "first as episode")
    await backend.upsert([m], [vec(1)])
    moved = m.model_copy(update={"memory_type": P, "content": "now a procedure"})
    await backend.upsert([moved], [vec(1)])
    assert await backend.count(agent_id, memory_types=list(MemoryType)) == {E: 0, S: 0, P: 1}
    assert [x.memory_type for x in await backend.get(agent_id, [m.id])] == [P]
    with raw_client(location) as client:
        old = client.get_collection(collection_name(backend.prefix, "episodic", agent_id),
                                    embedding_function=None)
        assert old.get(ids=[m.id])["ids"] == []
    # the same id twice in one call: the last one wins
    a, b = mem(agent_id, "a", id="dup"), mem(agent_id, "b", id="dup", memory_type=S)
    await backend.upsert([a, b], [vec(1), vec(2)])
    assert [(x.content, x.memory_type) for x in await backend.get(agent_id, ["dup"])] == [
        ("b", S)]


# -- reads across types ----------------------------------------------------------------

async def test_query_merges_types(backend: ChromaBackend, agent_id: str) -> None:
    near_e = mem(agent_id, "near episode")
    near_s = mem(agent_id, "near fact", memory_type=S)
    mid_p = mem(agent_id, "mid procedure", memory_type=P)
    far_e = mem(agent_id, "far episode")
    expired = mem(agent_id, "expired", memory_type=S, expires_at=T0)
    await backend.upsert([near_e, near_s, mid_p, far_e, expired],
                         [vec(1, 0.05), vec(1, 0.1), vec(1, 1), vec(0, 1), vec(1)])
    hits = await backend.query(agent_id, vec(1), k=3, memory_types=[E, S, P])
    assert [h.memory.id for h in hits] == [near_e.id, near_s.id, mid_p.id]
    assert hits[0].score > hits[1].score > hits[2].score
    assert hits[2].score == pytest.approx(float(np.dot(vec(1), vec(1, 1))), abs=1e-5)
    only_s = await backend.query(agent_id, vec(1), k=5, memory_types=[S])
    assert [h.memory.id for h in only_s] == [near_s.id]  # the expired one is never recalled
    filtered = await backend.query(agent_id, vec(1), k=5, memory_types=[E, P],
                                   where=parse_filter({"id": {"$ne": near_e.id}}))
    assert [h.memory.id for h in filtered] == [mid_p.id, far_e.id]
    assert await backend.query(f"{agent_id}-other", vec(1), k=3, memory_types=[E]) == []


async def test_get_list_delete_count(backend: ChromaBackend, agent_id: str) -> None:
    ms = [mem(agent_id, f"m{i}", memory_type=[E, S, P][i % 3], created_at=T0 + timedelta(
        seconds=10 - i)) for i in range(6)]
    await backend.upsert(ms, [vec(1, i) for i in range(6)])
    got = await backend.get(agent_id, [ms[4].id, "missing", ms[1].id, ms[4].id])
    assert [m.id for m in got] == [ms[4].id, ms[1].id]
    listed = await backend.list_memories(agent_id, memory_types=[P, E, S], limit=3, offset=1)
    assert [m.content for m in listed] == ["m4", "m3", "m2"]
    assert await backend.count(agent_id, memory_types=[E, S, P]) == {E: 2, S: 2, P: 2}
    n = await backend.delete(agent_id, ids=[ms[0].id, ms[1].id, "missing"], memory_types=[E])
    assert n == 1  # ms[1] is semantic, so outside the requested types
    assert await backend.delete(agent_id, memory_types=[S],
                                where=parse_filter({"id": ms[1].id})) == 1
    assert await backend.delete(agent_id, memory_types=[P]) == 2
    assert await backend.count(agent_id, memory_types=[E, S, P]) == {E: 1, S: 1, P: 0}


async def test_drop_memories(backend: ChromaBackend, agent_id: str) -> None:
    other = f"{agent_id}-b"
    await backend.upsert([mem(agent_id, "a"), mem(other, "b", memory_type=S)], [vec(1), vec(2)])
    await backend.add_turns([ChatTurn(session_id="s", agent_id=agent_id, role="user")])
    await backend.drop_memories(agent_id)
    assert await backend.count(agent_id, memory_types=[E]) == {E: 0}
    assert await backend.count(other, memory_types=[S]) == {S: 1}
    await backend.drop_memories()
    assert await backend.count(other, memory_types=[S]) == {S: 0}
    assert await backend.history_stats(agent_id) == (1, 1)
    await backend.check(INFO)  # the registry stays


# -- turns ------------------------------------------------------------------------------

async def test_turns(backend: ChromaBackend, location: str, agent_id: str) -> None:
    def turn(session: str, text: str, **kw: Any) -> ChatTurn:
        return ChatTurn(session_id=session, agent_id=agent_id, role="user", content=text, **kw)

    await backend.add_turns([turn("s1", "one", extra={"k": [1, {"x": None}]}, created_at=T0),
                                turn("s2", "other"), turn("s1", "")])
    # a second backend object in the same process still appends after the first
    second = ChromaBackend(location, prefix=backend.prefix)
    await second.add_turns([turn("s1", "three"), turn("s1", "four")])
    await backend.add_turns([turn("s1", "five")])
    turns = await backend.history(agent_id, "s1")
    assert [t.content for t in turns] == ["one", "", "three", "four", "five"]
    assert turns[0].extra == {"k": [1, {"x": None}]} and turns[0].created_at == T0
    assert [t.content for t in await backend.history(agent_id, "s1", limit=2)] == [
        "four", "five"]
    assert await backend.history(agent_id, "s1", limit=0) == []
    assert await backend.history_stats(agent_id) == (6, 2)
    assert await backend.clear_history(agent_id, "s1") == 5
    assert await backend.clear_history(agent_id, "s1") == 0
    assert [t.content for t in await backend.history(agent_id, "s2")] == ["other"]
    assert await backend.history_stats(agent_id) == (1, 1)
    assert await backend.history("nobody", "s1") == []
    await second.close()


async def test_heartbeat_and_version(backend: ChromaBackend) -> None:
    assert await backend.heartbeat() > 0
    version = await backend.server_version()
    assert version and version[0].isdigit()


@pytest.mark.slow
async def test_more_than_one_batch(chroma_url: str, agent_id: str) -> None:
    b = ChromaBackend(chroma_url, prefix=f"t{uuid.uuid4().hex[:12]}")
    await b.init(INFO)
    n = 6000  # the server's max batch size is 5461
    rng = np.random.default_rng(7)
    await b.upsert([mem(agent_id, f"m{i}", id=f"m{i}") for i in range(n)],
                   list(rng.normal(size=(n, DIM))))
    assert await b.count(agent_id, memory_types=[E]) == {E: n}
    assert len(await b.get(agent_id, [f"m{i}" for i in range(n)])) == n
    assert await b.delete(agent_id, memory_types=[E]) == n
    await b.close()


async def test_search_text_is_bm25_over_the_agents_memories(backend: ChromaBackend,
                                                           agent_id: str) -> None:
    from tests.test_retrieval import reference_bm25

    texts = ["the cat sat on the mat", "the dog sat", "the cat and the cat", "nothing here",
             "a dog and a cat", "Cats are not cat"]
    memories = [mem(agent_id, t, id=f"m{i}") for i, t in enumerate(texts)]
    await backend.upsert(memories, [vec(i + 1) for i in range(len(texts))])
    other = mem(f"{agent_id}-other", "cat cat cat")  # another tenant: neither found nor counted
    await backend.upsert([other], [vec(1)])
    for query in ("cat", "the dog", "sat mat"):
        want = reference_bm25(query, texts)
        hits = await backend.search_text(agent_id, query, k=10, memory_types=list(MemoryType))
        expected = sorted((i for i, s in enumerate(want) if s > 0), key=lambda i: (-want[i], i))
        assert [h.memory.id for h in hits] == [f"m{i}" for i in expected]
        assert [h.score for h in hits] == pytest.approx([want[i] for i in expected], rel=1e-5)
