"""AgentMemVectorStore: LangChain's standard suite on every mode, then our own behaviour."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
from langchain_core.documents import Document
from langchain_core.vectorstores import VectorStore
from langchain_tests.integration_tests import VectorStoreIntegrationTests

from agentmem import (
    MMR,
    AgentMemSettings,
    ConfigError,
    HashingEmbedder,
    HybridMemory,
    InvalidFilter,
    InvalidInput,
    Memory,
    MemoryType,
)
from langchain_agentmem.embeddings import LangChainEmbedder
from langchain_agentmem.vectorstores import AgentMemEmbeddings, AgentMemVectorStore
from tests.conftest import MODES
from tests.filter_cases import BAD_FILTERS, CASES, DOCS, IMPORTANCE
from tests.langchain.conftest import fake_embedding, new_agent

# -- LangChain's standard suite, once per mode ------------------------------------------------


class _StandardSuite(VectorStoreIntegrationTests):
    """Each test gets an empty store: the mode's fake-embedding memory, a fresh agent."""

    mode: str

    @pytest.fixture
    def vectorstore(self, fake_memories: dict[str, HybridMemory]) -> Iterator[VectorStore]:
        store = AgentMemVectorStore(fake_memories[self.mode], agent_id=new_agent("std"),
                                    embedding=self.get_embeddings())
        try:
            yield store
        finally:
            store.delete()  # everything of this agent and type


class TestPgvectorStandard(_StandardSuite):
    mode = "pgvector"


class TestChromaStandard(_StandardSuite):
    mode = "chroma"


class TestHybridStandard(_StandardSuite):
    mode = "hybrid"


def test_the_standard_suite_runs_on_every_mode() -> None:
    assert sorted(c.mode for c in _StandardSuite.__subclasses__()) == sorted(MODES)


# -- helpers ----------------------------------------------------------------------------------


@pytest.fixture
def store(lc_memory: HybridMemory, agent_id: str) -> Iterator[AgentMemVectorStore]:
    s = AgentMemVectorStore(lc_memory, agent_id=agent_id)
    try:
        yield s
    finally:
        lc_memory.forget(agent_id=agent_id, memory_types=list(MemoryType))


def ids_of(docs: list[Document]) -> list[str | None]:
    return [d.id for d in docs]


# -- filters: the shared table, through the store (sync and async) -----------------------------


@pytest.fixture(scope="module", params=MODES)
def filter_store(request: pytest.FixtureRequest,
                 hashing_memories: dict[str, HybridMemory]) -> Iterator[AgentMemVectorStore]:
    memory = hashing_memories[request.param]
    agent = new_agent("filters")
    memory.remember_many([
        Memory(id=key, content=f"note {key} about {meta.get('topic', 'nothing')}", agent_id=agent,
               memory_type=MemoryType.SEMANTIC, metadata=meta, importance=IMPORTANCE[key])
        for key, meta in DOCS.items()])
    # A memory of another type must never come back through a semantic store.
    memory.remember("note x about ml", agent, memory_type="episodic", metadata={"topic": "ml"},
                    id="other-type")
    yield AgentMemVectorStore(memory, agent_id=agent)
    memory.forget(agent_id=agent, memory_types=list(MemoryType))


@pytest.mark.parametrize(("name", "where", "expected"), CASES, ids=[c[0] for c in CASES])
async def test_filter_cases(filter_store: AgentMemVectorStore, name: str, where: dict[str, Any],
                            expected: set[str]) -> None:
    got = filter_store.similarity_search("note about ml python", k=10, filter=where)
    assert set(ids_of(got)) == expected
    got = await filter_store.asimilarity_search("note about ml python", k=10, filter=where)
    assert set(ids_of(got)) == expected
    query = filter_store.embeddings.embed_query("note")
    got = filter_store.max_marginal_relevance_search_by_vector(query, k=10, filter=where)
    assert set(ids_of(got)) == expected
    assert all(d.metadata == DOCS[str(d.id)] for d in got)


def test_bad_filters_raise(filter_store: AgentMemVectorStore) -> None:
    for bad in BAD_FILTERS:
        with pytest.raises(InvalidFilter):
            filter_store.similarity_search("note", k=3, filter=bad)


def test_delete_by_filter(store: AgentMemVectorStore) -> None:
    store.add_texts(["alpha one", "alpha two", "beta"],
                    [{"group": "a"}, {"group": "a"}, {"group": "b"}], ids=["a1", "a2", "b"])
    assert store.delete(filter={"group": "a"}) is True
    assert ids_of(store.similarity_search("alpha", k=5)) == ["b"]


# -- writing ---------------------------------------------------------------------------------


async def test_metadata_round_trips_exactly(store: AgentMemVectorStore) -> None:
    meta = {"n": 3, "big": 2**53 + 1, "ratio": 0.25, "ok": True, "none": None,
            "tags": ["a", 1, 2.5], "nested": {"x": [1, {"y": None}]}, "unicode": "héllo 🌍",
            "id": 7}
    doc = Document(page_content="the user prefers dark mode", metadata=meta)
    [doc_id] = store.add_documents([doc])
    assert doc.metadata == meta and doc.id is None  # not mutated
    for got in (store.get_by_ids([doc_id])[0], store.similarity_search("dark mode", k=1)[0],
                (await store.aget_by_ids([doc_id]))[0],
                (await store.asimilarity_search("dark mode", k=1))[0]):
        assert got == Document(id=doc_id, page_content=doc.page_content, metadata=meta)
        assert type(got.metadata["n"]) is int and type(got.metadata["ratio"]) is float
        assert got.metadata["big"] == 2**53 + 1


def test_ids_kwarg_then_document_id_then_uuid(store: AgentMemVectorStore) -> None:
    docs = [Document(page_content="one", id="doc-1"), Document(page_content="two")]
    ids = store.add_documents(docs)
    assert ids[0] == "doc-1" and uuid.UUID(ids[1]).version == 4
    assert store.add_documents(docs, ids=["x", "y"]) == ["x", "y"]
    assert ids_of(store.get_by_ids(["x", "doc-1", "missing", "y"])) == ["x", "doc-1", "y"]
    assert store.add_texts(["three", "four"], ids=["t3", "t4"]) == ["t3", "t4"]
    assert store.add_texts(["five"], [{"k": 1}])[0]


async def test_empty_text_is_refused_and_nothing_is_written(store: AgentMemVectorStore) -> None:
    for bad in ("", "   \n"):
        batch = [Document(page_content="fine", id="ok"), Document(page_content=bad, id="bad")]
        with pytest.raises(InvalidInput, match="document 1 has no text"):
            store.add_documents(batch)
        with pytest.raises(InvalidInput, match="document 1 has no text"):
            await store.aadd_documents(batch)
        with pytest.raises(ValueError):  # InvalidInput is a ValueError, as LangChain users expect
            store.add_texts(["fine", bad])
    assert store.get_by_ids(["ok", "bad"]) == []


def test_bad_input_is_refused_before_writing(store: AgentMemVectorStore) -> None:
    with pytest.raises(InvalidInput, match="metadata"):
        store.add_documents([Document(page_content="a", id="a"),
                             Document(page_content="b", metadata={"when": object()})])
    with pytest.raises(InvalidInput, match="2 texts but 1 ids"):
        store.add_texts(["a", "b"], ids=["a"])
    with pytest.raises(InvalidInput, match="metadatas"):
        store.add_texts(["a", "b"], [{}])
    with pytest.raises(TypeError, match="unexpected arguments: importance"):
        store.add_texts(["a"], importance=0.9)
    with pytest.raises(TypeError, match="unexpected arguments: where"):
        store.similarity_search("a", where={"x": 1})
    assert store.get_by_ids(["a"]) == []


def test_store_is_scoped_to_its_memory_type(lc_memory: HybridMemory, agent_id: str) -> None:
    semantic = AgentMemVectorStore(lc_memory, agent_id=agent_id)
    procedural = AgentMemVectorStore(lc_memory, agent_id=agent_id, memory_type="procedural")
    try:
        semantic.add_texts(["how to deploy the app"], ids=["s"])
        procedural.add_texts(["how to deploy the app step by step"], ids=["p"])
        assert ids_of(semantic.similarity_search("deploy", k=5)) == ["s"]
        assert semantic.get_by_ids(["s", "p"]) == [Document(id="s", page_content="how to deploy "
                                                             "the app", metadata={})]
        semantic.delete(["p"])  # not this store's: untouched
        semantic.delete()  # all of this store: the semantic memories of this agent
        assert semantic.get_by_ids(["s"]) == []
        assert ids_of(procedural.get_by_ids(["p"])) == ["p"]
        assert lc_memory.stats(agent_id).total == 1
    finally:
        lc_memory.forget(agent_id=agent_id, memory_types=list(MemoryType))
    with pytest.raises(InvalidInput, match="unknown memory type"):
        AgentMemVectorStore(lc_memory, agent_id=agent_id, memory_type="facts")
    with pytest.raises(InvalidInput, match="agent_id"):
        AgentMemVectorStore(lc_memory, agent_id=" ")


# -- scores and MMR --------------------------------------------------------------------------


async def test_scores_are_agentmem_cosine_and_relevance_is_clipped(
        store: AgentMemVectorStore, lc_memory: HybridMemory, agent_id: str) -> None:
    store.add_texts(["the cat sat on the mat", "a dog in the park", "quarterly tax report",
                     "cats and mats"], ids=["cat", "dog", "tax", "cats"])
    scored = store.similarity_search_with_score("cat on a mat", k=4)
    hits = lc_memory.recall("cat on a mat", agent_id, memory_types=["semantic"], k=4,
                            lexical_weight=0)  # a vector store's search is dense
    assert [(d.id, s) for d, s in scored] == [(h.memory.id, h.score) for h in hits]
    assert scored[0][1] > scored[-1][1] and scored[0][0].id == "cat"
    assert [(d.id, s) for d, s in await store.asimilarity_search_with_score("cat on a mat", k=4)] \
        == [(d.id, s) for d, s in scored]
    relevance = store.similarity_search_with_relevance_scores("cat on a mat", k=4)
    assert [r for _, r in relevance] == [min(1.0, max(0.0, s)) for _, s in scored]
    assert all(0.0 <= r <= 1.0 for _, r in relevance)
    cutoff = relevance[1][1]
    kept = await store.asimilarity_search_with_relevance_scores("cat on a mat", k=4,
                                                               score_threshold=cutoff)
    assert ids_of([d for d, _ in kept]) == ids_of([d for d, _ in relevance[:2]])
    vector = store.embeddings.embed_query("cat on a mat")
    assert store.similarity_search_with_score_by_vector(vector, k=4) == scored
    assert await store.asimilarity_search_by_vector(vector, k=2) == [d for d, _ in scored[:2]]


async def test_mmr_picks_diverse_documents(store: AgentMemVectorStore) -> None:
    store.add_texts(["the cat sat on the mat", "the cat sat on the mat today",
                     "the cat sat on a mat", "dogs chase cats in the park"],
                    ids=["mat1", "mat2", "mat3", "dogs"])
    plain = ids_of(store.similarity_search("the cat sat on the mat", k=2))
    assert set(plain) <= {"mat1", "mat2", "mat3"}
    diverse = store.max_marginal_relevance_search("the cat sat on the mat", k=2, fetch_k=4,
                                                  lambda_mult=0.1)
    assert ids_of(diverse) == ["mat1", "dogs"]
    assert ids_of(await store.amax_marginal_relevance_search(
        "the cat sat on the mat", k=2, fetch_k=4, lambda_mult=0.1)) == ["mat1", "dogs"]
    vector = store.embeddings.embed_query("the cat sat on the mat")
    assert ids_of(await store.amax_marginal_relevance_search_by_vector(
        vector, k=2, fetch_k=4, lambda_mult=0.1)) == ["mat1", "dogs"]
    # lambda 1.0 is pure relevance: the plain order
    assert ids_of(store.max_marginal_relevance_search("the cat sat on the mat", k=2,
                                                      lambda_mult=1.0)) == plain
    # through LangChain's own retriever too
    retriever = store.as_retriever(search_type="mmr",
                                   search_kwargs={"k": 2, "fetch_k": 4, "lambda_mult": 0.1})
    assert ids_of(await retriever.ainvoke("the cat sat on the mat")) == ["mat1", "dogs"]


async def test_mmr_stays_dense_when_the_store_fuses(lc_memory: HybridMemory,
                                                    agent_id: str) -> None:
    """A vector store's MMR is over the nearest vectors, whatever its lexical_weight."""
    fusing = AgentMemVectorStore(lc_memory, agent_id=agent_id, lexical_weight=None)
    try:
        fusing.add_texts(["the cat sat on the mat", "the cat sat on the mat today",
                          "dogs chase cats in the park", "ticket XJ-4471 closed"],
                         ids=["mat1", "mat2", "dogs", "ticket"])
        query, mmr = "where is ticket XJ-4471", MMR(fetch_k=3, lambda_mult=0.5)
        dense = [h.memory.id for h in lc_memory.recall(
            query, agent_id, memory_types=["semantic"], k=2, mmr=mmr, lexical_weight=0)]
        fused = [h.memory.id for h in lc_memory.recall(
            query, agent_id, memory_types=["semantic"], k=2, mmr=mmr)]
        assert dense != fused  # agentmem's default would fuse here
        assert ids_of(fusing.max_marginal_relevance_search(query, k=2, fetch_k=3)) == dense
        assert ids_of(await fusing.amax_marginal_relevance_search(query, k=2, fetch_k=3)) == dense
        # its similarity search does fuse, as asked
        assert ids_of(fusing.similarity_search(query, k=1)) == ["ticket"]
    finally:
        lc_memory.forget(agent_id=agent_id, memory_types=list(MemoryType))


# -- tenancy ---------------------------------------------------------------------------------


async def test_agents_never_see_each_other(lc_memory: HybridMemory) -> None:
    from langchain_agentmem.retrievers import AgentMemRetriever

    a, b = new_agent("tenant-a"), new_agent("tenant-b")
    store_a = AgentMemVectorStore(lc_memory, agent_id=a)
    store_b = AgentMemVectorStore(lc_memory, agent_id=b)
    try:
        [secret] = store_a.add_texts(["agent A's secret: the launch code is 1234"],
                                     [{"topic": "secret"}], ids=["shared-id"])
        assert store_b.similarity_search("launch code secret", k=5) == []
        assert await store_b.asimilarity_search("launch code secret", k=5) == []
        assert store_b.similarity_search("secret", k=5, filter={"topic": "secret"}) == []
        assert store_b.max_marginal_relevance_search("launch code", k=5) == []
        assert store_b.get_by_ids([secret]) == [] and await store_b.aget_by_ids([secret]) == []
        retriever_b = AgentMemRetriever(memory=lc_memory, agent_id=b, k=5)
        assert retriever_b.invoke("launch code secret") == []
        assert await retriever_b.ainvoke("launch code secret") == []
        # B writing the same id and deleting it, or deleting everything, leaves A's alone.
        store_b.add_texts(["B's own note"], ids=["shared-id"])
        store_b.delete(["shared-id"])
        await store_b.adelete()
        assert ids_of(store_a.get_by_ids(["shared-id"])) == ["shared-id"]
        assert store_a.get_by_ids(["shared-id"])[0].page_content.startswith("agent A's")
        retriever_a = AgentMemRetriever(memory=lc_memory, agent_id=a)
        assert ids_of(retriever_a.invoke("launch code")) == ["shared-id"]
    finally:
        for agent in (a, b):
            lc_memory.forget(agent_id=agent, memory_types=list(MemoryType))


# -- embeddings property, construction -------------------------------------------------------


def test_embeddings_property_is_never_none(hashing_memories: dict[str, HybridMemory],
                                           fake_memories: dict[str, HybridMemory],
                                           agent_id: str) -> None:
    hashing = AgentMemVectorStore(hashing_memories["pgvector"], agent_id=agent_id)
    assert isinstance(hashing.embeddings, AgentMemEmbeddings)
    assert hashing.embeddings.embed_query("hello") == HashingEmbedder(64).embed_query("hello")
    assert hashing.embeddings.embed_documents(["a", "b"]) == HashingEmbedder(64).embed_documents(
        ["a", "b"])
    assert asyncio.run(hashing.embeddings.aembed_query("hello")) == hashing.embeddings.embed_query(
        "hello")

    memory = fake_memories["pgvector"]
    assert isinstance(memory.embedder, LangChainEmbedder)
    wrapped = AgentMemVectorStore(memory, agent_id=agent_id)
    assert wrapped.embeddings is memory.embedder.embeddings  # the LangChain model itself
    given = fake_embedding()
    assert AgentMemVectorStore(memory, agent_id=agent_id, embedding=given).embeddings is given
    with pytest.raises(ConfigError, match="LangChainEmbedder"):
        AgentMemVectorStore(hashing_memories["pgvector"], agent_id=agent_id, embedding=given)
    with pytest.raises(InvalidInput, match="HybridMemory"):
        AgentMemVectorStore(object(), agent_id=agent_id)  # type: ignore[arg-type]


async def test_from_texts_with_a_memory_leaves_it_open(fake_memories: dict[str, HybridMemory],
                                                       mode: str) -> None:
    memory, agent = fake_memories[mode], new_agent("from")
    try:
        with AgentMemVectorStore.from_texts(["foo", "bar"], fake_embedding(), [{"i": 1}, {"i": 2}],
                                            ids=["f", "b"], memory=memory, agent_id=agent) as store:
            assert store.similarity_search("bar", k=1) == [
                Document(id="b", page_content="bar", metadata={"i": 2})]
        assert memory.get("f", agent).content == "foo"  # still open: not the store's to close
        docs = [Document(id="d", page_content="baz", metadata={"i": 3})]
        async with await AgentMemVectorStore.afrom_documents(
                docs, fake_embedding(), memory=memory, agent_id=agent,
                memory_type="procedural") as procedural:
            assert await procedural.asimilarity_search("baz", k=5) == docs
        assert memory.get("d", agent).memory_type is MemoryType.PROCEDURAL
        with pytest.raises(InvalidInput, match="agent_id"):
            AgentMemVectorStore.from_texts(["x"], fake_embedding(), memory=memory)
    finally:
        memory.forget(agent_id=agent, memory_types=list(MemoryType))


async def test_from_texts_builds_and_owns_a_memory_from_settings(new_database: Any) -> None:
    settings = AgentMemSettings(postgres_url=new_database(), mode="pgvector")
    store = AgentMemVectorStore.from_documents(
        [Document(page_content="foo", metadata={"n": 1}, id="f"), Document(page_content="bar")],
        fake_embedding(), agent_id="owner", settings=settings)
    with store:
        assert isinstance(store.memory.embedder, LangChainEmbedder)
        assert store.memory.embedder.model_id == "langchain:DeterministicFakeEmbedding"
        assert store.get_by_ids(["f"]) == [Document(id="f", page_content="foo", metadata={"n": 1})]
    assert store.memory.closed  # the store built it, so the store closed it
    # The same database again, async: the schema is there, the model matches.
    again = await AgentMemVectorStore.afrom_texts(["baz"], fake_embedding(), agent_id="owner",
                                                  settings=settings, ids=["z"])
    async with again:
        assert ids_of(await again.aget_by_ids(["f", "z"])) == ["f", "z"]
    assert again.memory.closed


# -- async methods are native ----------------------------------------------------------------


ASYNC_METHODS = ["aadd_texts", "aadd_documents", "adelete", "aget_by_ids", "asimilarity_search",
                 "asimilarity_search_with_score", "asimilarity_search_by_vector",
                 "amax_marginal_relevance_search", "amax_marginal_relevance_search_by_vector",
                 "afrom_texts"]


async def test_async_methods_are_native(no_executor: None, store: AgentMemVectorStore) -> None:
    for name in ASYNC_METHODS:
        assert getattr(AgentMemVectorStore, name) is not getattr(VectorStore, name), name
    ids = await store.aadd_texts(["alpha", "beta"], [{"n": 1}, {"n": 2}])
    ids += await store.aadd_documents([Document(page_content="gamma", id="g")])
    assert ids_of(await store.aget_by_ids(ids)) == ids
    assert len(await store.asimilarity_search("alpha", k=2)) == 2
    assert len(await store.asimilarity_search_with_relevance_scores("alpha", k=2)) == 2
    assert len(await store.asearch("alpha", "similarity", k=1)) == 1
    assert len(await store.asearch("alpha", "mmr", k=1)) == 1
    assert len(await store.amax_marginal_relevance_search("alpha", k=2)) == 2
    vector = await store.embeddings.aembed_query("alpha")
    assert len(await store.amax_marginal_relevance_search_by_vector(vector, k=2)) == 2
    assert len(await store.asimilarity_search_by_vector(vector, k=3)) == 3
    assert await store.adelete([ids[0]]) is True
    assert ids_of(await store.aget_by_ids(ids)) == ids[1:]
    assert len(await store.as_retriever().ainvoke("beta")) == 2
    await store.adelete()
    assert await store.aget_by_ids(ids) == []


async def test_concurrent_async_calls(store: AgentMemVectorStore) -> None:
    await asyncio.gather(*(store.aadd_texts([f"note {i}"], ids=[f"n{i}"]) for i in range(8)))
    results = await asyncio.gather(*(store.asimilarity_search(f"note {i}", k=1) for i in range(8)))
    assert [ids_of(r) for r in results] == [[f"n{i}"] for i in range(8)]


@pytest.fixture
async def async_store(lc_memory: HybridMemory) -> AsyncIterator[AgentMemVectorStore]:
    agent = new_agent("async")
    yield AgentMemVectorStore(lc_memory, agent_id=agent)
    await lc_memory.aforget(agent_id=agent, memory_types=list(MemoryType))


async def test_async_upsert_overwrites(async_store: AgentMemVectorStore) -> None:
    await async_store.aadd_texts(["first"], [{"v": 1}], ids=["x"])
    await async_store.aadd_texts(["second"], [{"v": 2}], ids=["x"])
    assert await async_store.aget_by_ids(["x"]) == [
        Document(id="x", page_content="second", metadata={"v": 2})]
