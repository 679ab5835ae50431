"""AgentMemStore: LangGraph's BaseStore over agentmem, on real servers, in every mode.

Where LangGraph's semantics are defined by its reference ``InMemoryStore``, the same
operations run on both stores (with the same hashing embedder) and the answers are compared.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator, Sequence
from typing import Any

import pytest
from langchain_core.embeddings import Embeddings
from langgraph.store.base import (
    GetOp,
    InvalidNamespaceError,
    Item,
    ListNamespacesOp,
    MatchCondition,
    PutOp,
    SearchOp,
)
from langgraph.store.memory import InMemoryStore

from agentmem import (
    ConfigError,
    HashingEmbedder,
    HybridMemory,
    InvalidFilter,
    InvalidInput,
    MemoryType,
)
from langchain_agentmem.store import AgentMemStore
from tests.conftest import DIM, MODES, make_memory


class HashingEmbeddings(Embeddings):
    """agentmem's hashing embedder as LangChain Embeddings, for the reference store."""

    def __init__(self) -> None:
        self.embedder = HashingEmbedder(DIM)

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return self.embedder.embed_documents(texts)

    def embed_query(self, text: str) -> list[float]:
        return self.embedder.embed_query(text)


def reference(fields: list[str] | None = None) -> InMemoryStore:
    index: Any = {"dims": DIM, "embed": HashingEmbeddings()}
    if fields is not None:
        index["fields"] = fields
    return InMemoryStore(index=index)


@pytest.fixture
def store(memory: HybridMemory, agent_id: str) -> AgentMemStore:
    return AgentMemStore(memory, agent_id=agent_id)


def view(items: Sequence[Item]) -> list[tuple[tuple[str, ...], str, dict[str, Any]]]:
    return [(i.namespace, i.key, i.value) for i in items]


# Grouped by namespace, so that InMemoryStore's listing order (namespace by namespace)
# equals agentmem's (oldest created first).
DOCS: list[tuple[tuple[str, ...], str, dict[str, Any]]] = [
    (("docs", "ann"), "d1", {"text": "Python tutorial for beginners", "kind": "guide",
                             "stars": 5, "draft": False, "meta": {"lang": "en"}}),
    (("docs", "ann"), "d2", {"text": "TypeScript handbook with generics", "kind": "guide",
                             "stars": 3, "draft": True, "tags": ["ts", "web"]}),
    (("docs", "bob"), "d3", {"text": "Cooking fresh pasta at home", "kind": "recipe",
                             "stars": 4.5, "draft": False}),
    (("docs", "bob"), "d4", {"text": "Baking sourdough bread slowly", "kind": "recipe",
                             "stars": 2, "draft": False}),
    (("docs", "bob", "old"), "d5", {"text": "Python packaging notes from 2019",
                                    "kind": "note", "stars": 1, "draft": True}),
    (("notes",), "n1", {"text": "Meeting notes about the Python migration", "kind": "note",
                        "stars": 4, "draft": False}),
    (("docsx",), "x1", {"text": "A label that only starts like docs", "kind": "guide",
                        "stars": 5, "draft": False}),
]


def fill(*stores: Any) -> None:
    for s in stores:
        for namespace, key, value in DOCS:
            s.put(namespace, key, value)


class Filled:
    """DOCS in an AgentMemStore and in the reference store, for read-only comparisons."""

    def __init__(self, memory: HybridMemory, agent_id: str, fields: list[str] | None) -> None:
        index: Any = None if fields is None else {"fields": fields}
        self.store = AgentMemStore(memory, agent_id=agent_id, index=index)
        self.ref = reference(fields)
        fill(self.store, self.ref)


@pytest.fixture(scope="module", params=MODES)
def filled(request: pytest.FixtureRequest, pg_url: str,
           chroma_url: str) -> Iterator[dict[str, Filled]]:
    """Per mode, DOCS stored once (whole-value index and ``fields=["text"]``), never changed."""
    memory = make_memory(request.param, pg_url, chroma_url)
    try:
        tag = uuid.uuid4().hex[:10]
        yield {"whole": Filled(memory, f"filled-{tag}-whole", None),
               "text": Filled(memory, f"filled-{tag}-text", ["text"])}
    finally:
        memory.close()


# -- get / put / delete --------------------------------------------------------------


def test_put_get_round_trip(store: AgentMemStore) -> None:
    value = {"name": "Ann", "age": 31, "score": 0.25, "ok": True, "none": None,
             "nested": {"list": [1, "two", {"three": 3.0}], "empty": {}},
             "unicode": "żółw 🐢", "key with spaces": "x"}
    assert store.get(("users", "ann"), "profile") is None
    store.put(("users", "ann"), "profile", value)
    item = store.get(("users", "ann"), "profile")
    assert item is not None
    assert (item.namespace, item.key, item.value) == (("users", "ann"), "profile", value)
    assert item.created_at == item.updated_at and item.created_at.tzinfo is not None
    assert store.get(("users", "bob"), "profile") is None
    assert store.get(("users",), "profile") is None
    assert store.get(("users", "ann"), "other") is None


def test_put_upserts_keeping_created_at(store: AgentMemStore, memory: HybridMemory,
                                        agent_id: str) -> None:
    store.put(("users", "ann"), "prefs", {"theme": "dark"})
    first = store.get(("users", "ann"), "prefs")
    store.put(("users", "ann"), "prefs", {"theme": "light", "font": "large"})
    second = store.get(("users", "ann"), "prefs")
    assert first is not None and second is not None
    assert second.value == {"theme": "light", "font": "large"}
    assert second.created_at == first.created_at and second.updated_at > first.updated_at
    assert len(memory.memories(agent_id)) == 1  # one memory per (namespace, key)


def test_delete(store: AgentMemStore) -> None:
    store.put(("a",), "k1", {"v": 1})
    store.put(("a",), "k2", {"v": 2})
    store.delete(("a",), "k1")
    store.delete(("a",), "never-existed")
    assert store.get(("a",), "k1") is None
    assert view(store.search(("a",))) == [(("a",), "k2", {"v": 2})]
    store.batch([PutOp(("a",), "k2", None)])
    assert store.search(("a",)) == [] and store.list_namespaces() == []


def test_batch_semantics(store: AgentMemStore) -> None:
    store.put(("b",), "old", {"v": 0})
    results = store.batch([
        PutOp(("b",), "new", {"v": 1}),
        GetOp(("b",), "new"),
        GetOp(("b",), "old"),
        PutOp(("b",), "new", {"v": 2}),
        PutOp(("b",), "old", None),
        SearchOp(("b",)),
        ListNamespacesOp(),
    ])
    # Reads see the state before the batch's writes; the last put of a key wins.
    assert results[0] is None and results[1] is None and results[3] is None
    assert isinstance(results[2], Item) and results[2].value == {"v": 0}
    assert view(results[5]) == [(("b",), "old", {"v": 0})]  # type: ignore[arg-type]
    assert results[6] == [("b",)]
    assert view(store.search(("b",))) == [(("b",), "new", {"v": 2})]


def test_batch_order_is_put_order(store: AgentMemStore) -> None:
    keys = [f"k{i:02d}" for i in range(25)]
    store.batch([PutOp(("order",), k, {"i": i}) for i, k in enumerate(keys)])
    assert [i.key for i in store.search(("order",), limit=100)] == keys


# -- search: listing and filters --------------------------------------------------------


PREFIXES = [(), ("docs",), ("docs", "bob"), ("docs", "bob", "old"), ("docsx",), ("doc",),
            ("nope",)]


def test_listing_matches_reference(filled: dict[str, Filled]) -> None:
    store, ref = filled["whole"].store, filled["whole"].ref
    for prefix in PREFIXES:
        for limit, offset in [(10, 0), (2, 0), (2, 3), (100, 6), (3, 10)]:
            got = store.search(prefix, limit=limit, offset=offset)
            assert view(got) == view(ref.search(prefix, limit=limit, offset=offset)), prefix
            assert all(i.score is None for i in got)


FILTERS: list[dict[str, Any]] = [
    {"kind": "guide"},
    {"kind": {"$eq": "recipe"}},
    {"kind": {"$ne": "guide"}},
    {"stars": 5},
    {"stars": {"$gt": 3}},
    {"stars": {"$gte": 3, "$lt": 5}},
    {"stars": {"$lte": 2}},
    {"stars": {"$gt": 4.4, "$lte": 4.5}},
    {"draft": True},
    {"draft": False, "kind": "recipe"},
    {"kind": "note", "stars": {"$ne": 1}},
    {"missing": "x"},
    {"missing": {"$ne": "x"}},
]


def test_filters_match_reference(filled: dict[str, Filled]) -> None:
    store, ref = filled["whole"].store, filled["whole"].ref
    for where in FILTERS:
        for prefix in [(), ("docs",)]:
            want = view(ref.search(prefix, filter=where, limit=100))
            assert view(store.search(prefix, filter=where, limit=100)) == want, where
            assert view(store.search(prefix, filter=where, limit=2, offset=1)) == want[1:3]


def test_unsupported_filters_are_refused(filled: dict[str, Filled]) -> None:
    store = filled["whole"].store
    refused: list[dict[str, Any]] = [
        {"meta": {"lang": "en"}}, {"tags": ["ts", "web"]}, {"kind": None},
        {"stars": {"$in": [1, 2]}}, {"meta.lang": "en"}, {"kind": {"$gt": "a"}}]
    for where in refused:
        with pytest.raises(InvalidFilter):
            store.search(("docs",), filter=where)


# -- semantic search -----------------------------------------------------------------


@pytest.mark.parametrize("index", ["whole", "text"])
def test_semantic_search_matches_reference(filled: dict[str, Filled], index: str) -> None:
    store, ref = filled[index].store, filled[index].ref
    for prefix, query, where in [
        ((), "python programming", None),
        (("docs",), "bread and pasta recipes", None),
        ((), "python", {"draft": False}),
        (("docs",), "guide", {"stars": {"$gte": 3}}),
    ]:
        for limit, offset in [(3, 0), (2, 1)]:
            got = store.search(prefix, query=query, filter=where, limit=limit, offset=offset)
            want = ref.search(prefix, query=query, filter=where, limit=limit, offset=offset)
            assert view(got) == view(want)
            assert [i.score for i in got] == pytest.approx([i.score for i in want], abs=1e-5)


def test_semantic_search_ranks_the_closest_first(filled: dict[str, Filled]) -> None:
    store = filled["text"].store
    hits = store.search((), query="sourdough bread baking", limit=3)
    assert hits[0].key == "d4"
    scores = [h.score for h in hits]
    assert all(s is not None for s in scores) and scores == sorted(scores, reverse=True)  # type: ignore[type-var]
    assert [h.key for h in store.search(("notes",), query="python")] == ["n1"]
    assert store.search(("nope",), query="python") == []
    assert store.search((), query="python", limit=0) == []


def test_index_fields(memory: HybridMemory, agent_id: str) -> None:
    store = AgentMemStore(memory, agent_id=agent_id, index={"fields": ["title", "body.text"]})
    store.put(("i",), "a", {"title": "Gardening", "body": {"text": "Tomatoes need sun"},
                            "noise": "zebra zebra zebra"})
    store.put(("i",), "b", {"title": "Noise", "items": [{"t": "zebra crossing"},
                                                        {"t": "zebra stripes"}]},
              index=["items[*].t"])
    store.put(("i",), "c", {"title": "Whole", "x": 1}, index=["$"])
    contents = {m.metadata["lg_key"]: m.content for m in memory.memories(agent_id)}
    assert contents == {"a": "Gardening\nTomatoes need sun",
                        "b": "zebra crossing\nzebra stripes",
                        "c": '{"title": "Whole", "x": 1}'}
    assert store.search(("i",), query="zebra", limit=1)[0].key == "b"


def test_unindexed_items(memory: HybridMemory, agent_id: str) -> None:
    store = AgentMemStore(memory, agent_id=agent_id, index={"fields": ["text"]})
    store.put(("u",), "indexed", {"text": "alpine lakes and mountains"})
    store.put(("u",), "hidden", {"text": "alpine lakes and mountains too"}, index=False)
    store.put(("u",), "no-field", {"other": "alpine lakes"})  # nothing at the indexed path
    assert [i.key for i in store.search(("u",), query="alpine lakes")] == ["indexed"]
    assert [i.key for i in store.search(("u",))] == ["indexed", "hidden", "no-field"]
    item = store.get(("u",), "hidden")
    assert item is not None and item.value == {"text": "alpine lakes and mountains too"}
    hidden = next(m for m in memory.memories(agent_id) if m.metadata["lg_key"] == "hidden")
    assert hidden.content == '{"text": "alpine lakes and mountains too"}'
    assert hidden.metadata["lg_indexed"] is False
    # Indexing it later makes it searchable.
    store.put(("u",), "hidden", {"text": "alpine lakes and mountains too"})
    assert {i.key for i in store.search(("u",), query="alpine lakes")} == {"indexed", "hidden"}


# -- namespaces ------------------------------------------------------------------------

NAMESPACES = [("a", "b", "c"), ("a", "b", "d", "e"), ("a", "b", "d", "i"), ("a", "b", "f"),
              ("a", "c", "f"), ("x", "y"), ("x", "b", "f"), ("users", "u1", "prefs")]


def test_list_namespaces_matches_reference(store: AgentMemStore) -> None:
    ref = reference()
    for s in (store, ref):
        for i, ns in enumerate(NAMESPACES):
            s.put(ns, f"k{i}", {"i": i})
            s.put(ns, f"k{i}-2", {"i": i})
    cases: list[dict[str, Any]] = [
        {}, {"prefix": ("a", "b")}, {"prefix": ("a", "b"), "max_depth": 3},
        {"suffix": ("f",)}, {"prefix": ("a", "*", "f")}, {"prefix": ("*", "b")},
        {"suffix": ("*", "f")}, {"prefix": ("a",), "suffix": ("f",)}, {"max_depth": 1},
        {"max_depth": 2, "limit": 2, "offset": 1}, {"limit": 3, "offset": 6},
        {"prefix": ("zzz",)}, {"prefix": ("a", "b", "c", "d", "e")},
    ]
    for kwargs in cases:
        assert store.list_namespaces(**kwargs) == ref.list_namespaces(**kwargs), kwargs
    assert store.list_namespaces(prefix=("a", "b"), max_depth=3) == [
        ("a", "b", "c"), ("a", "b", "d"), ("a", "b", "f")]
    assert store.batch([ListNamespacesOp(match_conditions=(
        MatchCondition("prefix", ("x",)),), limit=10)]) == [[("x", "b", "f"), ("x", "y")]]


# -- tenancy, memory types, agentmem view ---------------------------------------------


def test_stores_of_different_agents_never_meet(memory: HybridMemory, agent_id: str) -> None:
    a = AgentMemStore(memory, agent_id=agent_id)
    b = AgentMemStore(memory, agent_id=f"{agent_id}-b")
    a.put(("shared",), "k", {"text": "secret of agent a"})
    b.put(("shared",), "k", {"text": "secret of agent b"})
    a.put(("only-a",), "k", {"text": "agent a alone"})
    item_a, item_b = a.get(("shared",), "k"), b.get(("shared",), "k")
    assert item_a is not None and item_a.value == {"text": "secret of agent a"}
    assert item_b is not None and item_b.value == {"text": "secret of agent b"}
    assert [i.value["text"] for i in b.search((), query="secret of agent a")] == [
        "secret of agent b"]
    assert b.search(("only-a",)) == [] and b.get(("only-a",), "k") is None
    assert b.list_namespaces() == [("shared",)]
    b.delete(("shared",), "k")
    assert a.get(("shared",), "k") is not None and b.get(("shared",), "k") is None


def test_stores_on_separate_servers_connections(pg_url: str, chroma_url: str,
                                                agent_id: str) -> None:
    """Two stores for two agents, each over its own HybridMemory on the same servers."""
    for mode in MODES:
        m1, m2 = make_memory(mode, pg_url, chroma_url), make_memory(mode, pg_url, chroma_url)
        try:
            s1 = AgentMemStore(m1, agent_id=f"{agent_id}-{mode}-1")
            s2 = AgentMemStore(m2, agent_id=f"{agent_id}-{mode}-2")
            s1.put(("n",), "k", {"text": "one"})
            s2.put(("n",), "k", {"text": "two"})
            assert view(s1.search(("n",), query="one two")) == [(("n",), "k", {"text": "one"})]
            assert view(s2.search(("n",))) == [(("n",), "k", {"text": "two"})]
        finally:
            m1.close()
            m2.close()


def test_memory_types_and_other_memories(memory: HybridMemory, agent_id: str) -> None:
    semantic = AgentMemStore(memory, agent_id=agent_id)
    procedural = AgentMemStore(memory, agent_id=agent_id, memory_type="procedural",
                               importance=0.9)
    semantic.put(("n",), "k", {"text": "a fact"})
    procedural.put(("n",), "k", {"text": "how to do it"})
    memory.remember("a plain agentmem memory, not a store item", agent_id,
                    memory_type="semantic", metadata={"kind": "plain"})
    assert view(semantic.search(())) == [(("n",), "k", {"text": "a fact"})]
    assert view(procedural.search((), query="fact")) == [(("n",), "k", {"text": "how to do it"})]
    assert semantic.list_namespaces() == [("n",)]
    # Store items are ordinary memories of the agent: agentmem recall finds them too.
    by_type = {m.memory_type: m for m in memory.memories(agent_id) if "lg_key" in m.metadata}
    assert by_type[MemoryType.PROCEDURAL].importance == 0.9
    hits = memory.recall("how to do it", agent_id, memory_types="procedural", k=1)
    assert hits[0].memory.metadata["lg_value"] == {"text": "how to do it"}


def test_items_survive_reopening(pg_url: str, chroma_url: str, agent_id: str) -> None:
    for mode in MODES:
        agent = f"{agent_id}-{mode}"
        first = make_memory(mode, pg_url, chroma_url)
        try:
            AgentMemStore(first, agent_id=agent).put(("p",), "k", {"text": "durable"})
            before = AgentMemStore(first, agent_id=agent).get(("p",), "k")
        finally:
            first.close()
        second = make_memory(mode, pg_url, chroma_url)
        try:
            store = AgentMemStore(second, agent_id=agent)
            assert store.get(("p",), "k") == before
            assert view(store.search(("p",), query="durable")) == [(("p",), "k",
                                                                     {"text": "durable"})]
        finally:
            second.close()


# -- TTL -------------------------------------------------------------------------------


def test_ttl_expires_items_and_reads_refresh_it(memory: HybridMemory, agent_id: str) -> None:
    from datetime import datetime, timedelta, timezone

    store = AgentMemStore(memory, agent_id=agent_id, ttl={"refresh_on_read": True})
    assert store.supports_ttl
    store.put(("t",), "short", {"text": "soon gone"}, ttl=10)
    store.put(("t",), "kept", {"text": "no ttl"})
    short_id = store._id(("t",), "short")
    first = memory.get(short_id, agent_id).expires_at
    assert first is not None
    assert timedelta(minutes=9) < first - datetime.now(timezone.utc) <= timedelta(minutes=10)
    assert memory.get(store._id(("t",), "kept"), agent_id).expires_at is None
    # a read that does not refresh leaves the clock alone; one that does restarts it
    store.get(("t",), "short", refresh_ttl=False)
    assert memory.get(short_id, agent_id).expires_at == first
    memory.set_expiry(short_id, agent_id, datetime.now(timezone.utc) + timedelta(minutes=1))
    assert store.get(("t",), "short") is not None  # refresh_on_read
    assert memory.get(short_id, agent_id).expires_at > datetime.now(  # type: ignore[operator]
        timezone.utc) + timedelta(minutes=9)
    memory.set_expiry(short_id, agent_id, datetime.now(timezone.utc) + timedelta(minutes=1))
    assert [i.key for i in store.search(("t",))] == ["short", "kept"]
    assert memory.get(short_id, agent_id).expires_at > datetime.now(  # type: ignore[operator]
        timezone.utc) + timedelta(minutes=9)
    # once expired, an item is gone from every read, before any cleanup
    memory.set_expiry(short_id, agent_id, datetime.now(timezone.utc) - timedelta(seconds=1))
    assert store.get(("t",), "short") is None
    assert [i.key for i in store.search(("t",))] == ["kept"]
    assert [i.key for i in store.search(("t",), query="soon gone")] == ["kept"]
    assert memory.cleanup(agent_id).total == 1


async def test_default_ttl_applies_to_puts_without_one(memory: HybridMemory,
                                                       agent_id: str) -> None:
    store = AgentMemStore(memory, agent_id=agent_id, ttl={"default_ttl": 60,
                                                         "refresh_on_read": False})
    await store.aput(("t",), "k", {"text": "x"})
    await store.aput(("t",), "forever", {"text": "y"}, ttl=None)
    got = await memory.aget(store._id(("t",), "k"), agent_id)
    assert got.expires_at is not None and got.metadata["lg_ttl"] == 60.0
    assert (await memory.aget(store._id(("t",), "forever"), agent_id)).expires_at is None
    before = got.expires_at
    assert (await store.aget(("t",), "k")) is not None
    assert (await memory.aget(got.id, agent_id)).expires_at == before  # refresh_on_read off
    await store.aget(("t",), "k", refresh_ttl=True)
    assert (await memory.aget(got.id, agent_id)).expires_at > before  # type: ignore[operator]


# -- errors ----------------------------------------------------------------------------


def test_errors(memory: HybridMemory, store: AgentMemStore, agent_id: str) -> None:
    for bad_ttl in (0, -1, float("inf"), True):
        with pytest.raises(InvalidInput, match="ttl"):
            store.put(("t",), "k", {"v": 1}, ttl=bad_ttl)
    with pytest.raises(ConfigError, match="default_ttl"):
        AgentMemStore(memory, agent_id=agent_id, ttl={"default_ttl": 0})
    for bad in [("a.b",), ("",)]:
        with pytest.raises(InvalidNamespaceError):
            store.batch([PutOp(bad, "k", {"v": 1})])
        with pytest.raises(InvalidNamespaceError):
            store.batch([SearchOp(bad)])
    with pytest.raises(InvalidNamespaceError):
        store.batch([PutOp((), "k", {"v": 1})])
    with pytest.raises(InvalidNamespaceError):
        store.put(("langgraph",), "k", {"v": 1})
    with pytest.raises(InvalidInput):
        store.put(("t",), "k", {"when": object()})
    with pytest.raises(InvalidInput):
        store.put(("t",), "k", {"nan": float("nan")})
    with pytest.raises(InvalidInput):
        store.search(("t",), limit=-1)
    with pytest.raises(ValueError):
        store.batch([object()])  # type: ignore[list-item]
    with pytest.raises(ConfigError):
        AgentMemStore(memory, agent_id=agent_id, index={"embed": HashingEmbeddings()})
    with pytest.raises(ConfigError):
        AgentMemStore(memory, agent_id=agent_id, index={"dims": DIM + 1})
    with pytest.raises(ConfigError):
        AgentMemStore(memory, agent_id=agent_id, index={"fields": "text"})
    AgentMemStore(memory, agent_id=agent_id, index={"dims": DIM, "fields": ["text"]})
    with pytest.raises(InvalidInput):
        AgentMemStore(memory, agent_id=" ")
    with pytest.raises(InvalidInput):
        AgentMemStore(memory, agent_id=agent_id, memory_type="dream")
    with pytest.raises(InvalidInput):
        AgentMemStore(memory, agent_id=agent_id, importance=2)
    assert store.search(()) == []  # nothing half-written


# -- async -----------------------------------------------------------------------------


async def test_async_twins(memory: HybridMemory, agent_id: str) -> None:
    store = AgentMemStore(memory, agent_id=agent_id, index={"fields": ["text"]})
    ref = reference(["text"])
    for s in (store, ref):
        await asyncio.gather(*(s.aput(ns, key, value) for ns, key, value in DOCS[:3]))
        for ns, key, value in DOCS[3:]:
            await s.aput(ns, key, value)
    item = await store.aget(("docs", "ann"), "d1")
    assert item is not None and item.value == DOCS[0][2]
    hits = await store.asearch(("docs",), query="pasta", limit=2)
    want = await ref.asearch(("docs",), query="pasta", limit=2)
    assert view(hits) == view(want)
    assert [h.score for h in hits] == pytest.approx([h.score for h in want], abs=1e-5)
    listed = await store.asearch(("docs",), filter={"kind": "recipe"})
    assert [i.key for i in listed] == ["d3", "d4"]
    assert await store.alist_namespaces(prefix=("docs",), max_depth=2) == [
        ("docs", "ann"), ("docs", "bob")]
    await store.adelete(("docs", "bob"), "d3")
    assert await store.aget(("docs", "bob"), "d3") is None
    results = await store.abatch([GetOp(("notes",), "n1"), PutOp(("notes",), "n1", None),
                                  SearchOp(("notes",))])
    assert isinstance(results[0], Item) and len(results[2]) == 1  # type: ignore[arg-type]
    assert await store.asearch(("notes",)) == []

