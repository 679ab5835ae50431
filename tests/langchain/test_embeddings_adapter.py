"""LangChainEmbedder: a LangChain Embeddings as an agentmem Embedder, and a memory built on it."""

from __future__ import annotations

from typing import Any

import pytest
from langchain_core.embeddings import DeterministicFakeEmbedding, Embeddings, FakeEmbeddings
from langchain_tests.integration_tests.vectorstores import EMBEDDING_SIZE

from agentmem import DimensionMismatch, Embedder, HybridMemory, InvalidInput, MemoryType
from langchain_agentmem.embeddings import LangChainEmbedder
from tests.conftest import make_memory
from tests.langchain.conftest import FAKE_PREFIX, fake_embedding


class CountingEmbeddings(Embeddings):
    """A real (if tiny) embedding model that counts its calls: a 3-d bag of letters."""

    def __init__(self, **attrs: Any) -> None:
        self.calls: list[str] = []
        for key, value in attrs.items():
            setattr(self, key, value)

    @staticmethod
    def _vec(text: str) -> list[float]:
        return [float(text.count("a")) + 1.0, float(text.count("e")), float(len(text))]

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        self.calls.append("embed_documents")
        return [self._vec(t) for t in texts]

    def embed_query(self, text: str) -> list[float]:
        self.calls.append("embed_query")
        return self._vec(text)

    async def aembed_documents(self, texts: list[str]) -> list[list[float]]:
        self.calls.append("aembed_documents")
        return [self._vec(t) for t in texts]

    async def aembed_query(self, text: str) -> list[float]:
        self.calls.append("aembed_query")
        return self._vec(text)


def test_model_id() -> None:
    assert LangChainEmbedder(CountingEmbeddings()).model_id == "langchain:CountingEmbeddings"
    assert LangChainEmbedder(CountingEmbeddings(model="text-embedding-3-small")).model_id == \
        "langchain:text-embedding-3-small"
    assert LangChainEmbedder(CountingEmbeddings(model_name="all-MiniLM-L6-v2")).model_id == \
        "langchain:all-MiniLM-L6-v2"
    assert LangChainEmbedder(CountingEmbeddings(model=None, model_name="m2")).model_id == \
        "langchain:m2"
    assert LangChainEmbedder(CountingEmbeddings(model="m"), model_id="mine").model_id == "mine"
    assert LangChainEmbedder(FakeEmbeddings(size=4)).model_id == "langchain:FakeEmbeddings"


def test_dimension_is_probed_once_and_lazily() -> None:
    wrapped = CountingEmbeddings()
    embedder = LangChainEmbedder(wrapped)
    assert wrapped.calls == []  # nothing embedded at construction
    assert embedder.dimension == 3
    assert embedder.dimension == 3
    assert isinstance(embedder, Embedder)  # (on Python < 3.12 this reads .dimension too)
    assert wrapped.calls == ["embed_query"]
    assert LangChainEmbedder(DeterministicFakeEmbedding(size=17)).dimension == 17
    given = CountingEmbeddings()
    assert LangChainEmbedder(given, dimension=3).dimension == 3 and given.calls == []


async def test_sync_and_async_twins_call_the_wrapped_methods() -> None:
    wrapped = CountingEmbeddings()
    embedder = LangChainEmbedder(wrapped, dimension=3)
    assert embedder.embed_documents(["aa", "e"]) == [[3.0, 0.0, 2.0], [1.0, 1.0, 1.0]]
    assert embedder.embed_query("ae") == [2.0, 1.0, 2.0]
    assert await embedder.aembed_documents(("aa", "e")) == [[3.0, 0.0, 2.0], [1.0, 1.0, 1.0]]
    assert await embedder.aembed_query("ae") == [2.0, 1.0, 2.0]
    assert wrapped.calls == ["embed_documents", "embed_query", "aembed_documents", "aembed_query"]
    assert embedder.embed_documents([]) == [] and await embedder.aembed_documents([]) == []
    assert len(wrapped.calls) == 4
    fake = LangChainEmbedder(fake_embedding())
    vector = fake.embed_query("x")  # numpy floats from the fake become plain floats
    assert all(type(x) is float for x in vector) and vector == await fake.aembed_query("x")


def test_bad_input_and_bad_models() -> None:
    with pytest.raises(InvalidInput, match="Embeddings"):
        LangChainEmbedder(object())  # type: ignore[arg-type]
    with pytest.raises(InvalidInput, match="dimension"):
        LangChainEmbedder(CountingEmbeddings(), dimension=0)
    with pytest.raises(InvalidInput, match="model_id"):
        LangChainEmbedder(CountingEmbeddings(), model_id=" ")

    class Short(CountingEmbeddings):
        def embed_documents(self, texts: list[str]) -> list[list[float]]:
            return super().embed_documents(texts)[:-1]

    with pytest.raises(InvalidInput, match="1 vectors for 2 texts"):
        LangChainEmbedder(Short()).embed_documents(["a", "b"])


@pytest.mark.parametrize("mode", ["pgvector", "chroma", "hybrid"])
async def test_a_hybrid_memory_built_with_it(mode: str, fake_pg_url: str, chroma_url: str) -> None:
    memory = make_memory(mode, fake_pg_url, chroma_url, EMBEDDING_SIZE,
                         embedder=LangChainEmbedder(fake_embedding()), prefix=FAKE_PREFIX)
    agent = f"embedder-{mode}"
    try:
        assert memory.info.model_id == "langchain:DeterministicFakeEmbedding"
        assert memory.info.dimension == EMBEDDING_SIZE
        m = memory.remember("the user prefers tea", agent, memory_type="semantic")
        await memory.aremember("the user owns a bike", agent, id="bike")
        hits = memory.recall("the user prefers tea", agent, k=2)
        assert hits[0].memory.id == m.id and hits[0].score == pytest.approx(1.0)
        hits = await memory.arecall("the user owns a bike", agent, k=1)
        assert [h.memory.id for h in hits] == ["bike"]
    finally:
        memory.forget(agent_id=agent, memory_types=list(MemoryType))
        memory.close()


def test_a_store_refuses_another_dimension(fake_pg_url: str, chroma_url: str) -> None:
    from agentmem import ChromaBackend, PostgresBackend

    other = LangChainEmbedder(DeterministicFakeEmbedding(size=EMBEDDING_SIZE + 2))
    for backends in ({"postgres": PostgresBackend(fake_pg_url)},
                     {"chroma": ChromaBackend(chroma_url, prefix=FAKE_PREFIX)}):
        memory = HybridMemory(embedder=other, **backends)
        try:
            with pytest.raises(DimensionMismatch):
                memory.init()
        finally:
            memory.close()


def test_memory_fixture_type(fake_memories: dict[str, HybridMemory]) -> None:
    assert all(isinstance(m.embedder, LangChainEmbedder) for m in fake_memories.values())
