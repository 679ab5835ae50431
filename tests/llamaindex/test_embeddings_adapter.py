"""LlamaIndexEmbedder (LlamaIndex -> agentmem) and AgentMemEmbedding (agentmem -> LlamaIndex)."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable

import pytest
from llama_index.core.base.embeddings.base import BaseEmbedding
from llama_index.core.embeddings import MockEmbedding
from pydantic import PrivateAttr

from agentmem import (
    ConfigError,
    DimensionMismatch,
    Embedder,
    HashingEmbedder,
    HybridMemory,
    InvalidInput,
    PostgresBackend,
)
from llamaindex_agentmem.embeddings import (
    AgentMemEmbedding,
    LlamaIndexEmbedder,
    llamaindex_embedding,
    llamaindex_model_id,
)
from tests.conftest import MODES, make_memory

DIM = 32


class CountingEmbedding(BaseEmbedding):
    """A deterministic LlamaIndex model (hashing inside) that counts how it is called."""

    _hashing: HashingEmbedder = PrivateAttr()
    _calls: dict[str, int] = PrivateAttr()

    def __init__(self, model_name: str = "counting-7", dim: int = DIM, **kw: object) -> None:
        super().__init__(model_name=model_name, **kw)  # type: ignore[arg-type]
        self._hashing = HashingEmbedder(dim)
        self._calls = {}

    def _count(self, name: str) -> None:
        self._calls[name] = self._calls.get(name, 0) + 1

    def _get_query_embedding(self, query: str) -> list[float]:
        self._count("query")
        return self._hashing.embed_query(query)

    async def _aget_query_embedding(self, query: str) -> list[float]:
        self._count("aquery")
        return self._hashing.embed_query(query)

    def _get_text_embedding(self, text: str) -> list[float]:
        self._count("text")
        return self._hashing.embed_query(text)

    def _get_text_embeddings(self, texts: list[str]) -> list[list[float]]:
        self._count("texts")
        return self._hashing.embed_documents(texts)

    async def _aget_text_embeddings(self, texts: list[str]) -> list[list[float]]:
        self._count("atexts")
        return self._hashing.embed_documents(texts)


class BrokenEmbedding(BaseEmbedding):
    """Returns whatever ``make`` builds, to check validation."""

    _make: Callable[[], object] = PrivateAttr()

    def __init__(self, make: Callable[[], object]) -> None:
        super().__init__(model_name="broken")
        self._make = make

    def _get_query_embedding(self, query: str) -> list[float]:
        return self._make()  # type: ignore[return-value]

    async def _aget_query_embedding(self, query: str) -> list[float]:
        return self._make()  # type: ignore[return-value]

    def _get_text_embedding(self, text: str) -> list[float]:
        return self._make()  # type: ignore[return-value]

    def _get_text_embeddings(self, texts: list[str]) -> list[list[float]]:
        return [self._make()]  # type: ignore[list-item]  # one vector, whatever the count


TEXTS = ["the cat sat on the mat", "dogs bark at night", "a cat on a mat", "tea with milk",
         "green tea"]


# -- agentmem -> LlamaIndex ----------------------------------------------------------------


async def test_agentmem_embedding_matches_the_embedder() -> None:
    hashing = HashingEmbedder(DIM)
    model = AgentMemEmbedding(hashing, embed_batch_size=2)
    assert isinstance(model, BaseEmbedding)
    assert model.model_name == "hashing-v1" and model.dimension == DIM
    assert model.class_name() == "AgentMemEmbedding" and model.embedder is hashing
    want = hashing.embed_documents(TEXTS)
    assert model.get_text_embedding(TEXTS[0]) == want[0]
    assert model.get_query_embedding(TEXTS[1]) == hashing.embed_query(TEXTS[1])
    assert model.get_text_embedding_batch(TEXTS) == want
    assert await model.aget_text_embedding(TEXTS[2]) == want[2]
    assert await model.aget_query_embedding(TEXTS[3]) == want[3]
    assert await model.aget_text_embedding_batch(TEXTS) == want
    # Related texts are closer than unrelated ones (it is not a constant vector).
    assert model.similarity(want[0], want[2]) > model.similarity(want[0], want[1])
    assert AgentMemEmbedding(hashing, model_name="custom").model_name == "custom"
    with pytest.raises(InvalidInput):
        AgentMemEmbedding("not an embedder")  # type: ignore[arg-type]


# -- LlamaIndex -> agentmem ----------------------------------------------------------------


async def test_llamaindex_embedder_wraps_any_model() -> None:
    model = CountingEmbedding(embed_batch_size=2)
    embedder = LlamaIndexEmbedder(model)
    assert embedder.model_id == "llamaindex:counting-7"
    assert AgentMemEmbedding(embedder).model_name == "llamaindex:counting-7"
    assert model._calls == {}  # the dimension is found lazily (wrapping does not probe)
    assert isinstance(embedder, Embedder)
    assert embedder.dimension == DIM and embedder.dimension == DIM
    assert model._calls == {"query": 1}  # ... and only once
    want = HashingEmbedder(DIM).embed_documents(TEXTS)
    assert embedder.embed_documents(TEXTS) == want
    assert model._calls["texts"] == 3  # batches of embed_batch_size
    assert embedder.embed_query("tea") == HashingEmbedder(DIM).embed_query("tea")
    assert await embedder.aembed_documents(TEXTS) == want
    assert model._calls["atexts"] == 3
    assert await embedder.aembed_query("tea") == HashingEmbedder(DIM).embed_query("tea")
    assert model._calls["aquery"] == 1
    assert embedder.embed_documents([]) == [] and await embedder.aembed_documents([]) == []
    assert "counting-7" in repr(embedder)


def test_dimension_is_probed_once_across_threads() -> None:
    model = CountingEmbedding()
    embedder = LlamaIndexEmbedder(model)
    seen: list[int] = []
    threads = [threading.Thread(target=lambda: seen.append(embedder.dimension)) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert seen == [DIM] * 8 and model._calls == {"query": 1}


def test_model_id_and_dimension_options() -> None:
    model = CountingEmbedding()
    given = LlamaIndexEmbedder(model, model_id="my-model", dimension=DIM)
    assert given.model_id == "my-model" and given.dimension == DIM and model._calls == {}
    mock = MockEmbedding(embed_dim=7)  # model_name "unknown": the class name is used
    assert llamaindex_model_id(mock) == "llamaindex:MockEmbedding"
    assert LlamaIndexEmbedder(mock).dimension == 7
    assert llamaindex_model_id(CountingEmbedding(model_name="  text-embedding-3-small ")) == \
        "llamaindex:text-embedding-3-small"
    for bad in ({"model_id": " "}, {"dimension": 0}, {"dimension": True}):
        with pytest.raises(InvalidInput):
            LlamaIndexEmbedder(model, **bad)
    with pytest.raises(InvalidInput):
        LlamaIndexEmbedder(HashingEmbedder(4))  # type: ignore[arg-type]


def test_bad_vectors_are_refused() -> None:
    with pytest.raises(ConfigError):
        _ = LlamaIndexEmbedder(BrokenEmbedding(lambda: [])).dimension
    with pytest.raises(ConfigError):
        _ = LlamaIndexEmbedder(BrokenEmbedding(lambda: [1.0, float("nan")])).dimension
    with pytest.raises(InvalidInput, match="returned 1 vectors for 2 texts"):
        LlamaIndexEmbedder(BrokenEmbedding(lambda: [1.0])).embed_documents(["a", "b"])
    with pytest.raises(ValueError):  # LlamaIndex's own event validation, or ours
        LlamaIndexEmbedder(BrokenEmbedding(lambda: ["x", "y"])).embed_query("q")


def test_round_trips_unwrap() -> None:
    hashing = HashingEmbedder(DIM)
    inner = AgentMemEmbedding(hashing)
    wrapped = LlamaIndexEmbedder(inner)
    assert wrapped.model_id == "hashing-v1" and wrapped.dimension == DIM
    assert wrapped.embed_documents(TEXTS) == hashing.embed_documents(TEXTS)
    model = CountingEmbedding()
    assert llamaindex_embedding(LlamaIndexEmbedder(model)) is model
    view = llamaindex_embedding(hashing)
    assert isinstance(view, AgentMemEmbedding) and view.embedder is hashing


# -- a HybridMemory embedding with a LlamaIndex model --------------------------------------


@pytest.mark.parametrize("mode", MODES)
async def test_memory_built_with_llamaindex_embedder(mode: str, new_database: Callable[[], str],
                                                     chroma_url: str, agent_id: str) -> None:
    url, prefix = new_database(), f"li-emb-{uuid.uuid4().hex[:8]}"
    model = CountingEmbedding()
    memory = make_memory(mode, url, chroma_url, DIM, embedder=LlamaIndexEmbedder(model),
                         prefix=prefix)
    try:
        assert memory.info.model_id == "llamaindex:counting-7"
        for text in TEXTS:
            await memory.aremember(text, agent_id, memory_type="semantic")
        memory.remember("the mat is red", agent_id)
        hits = await memory.arecall("a cat on the mat", agent_id, k=2, memory_types="semantic")
        assert [h.memory.content for h in hits][0] in {"the cat sat on the mat", "a cat on a mat"}
        assert model._calls.get("atexts", 0) >= 5 and model._calls.get("aquery") == 1
        assert memory.recall("red mat", agent_id, k=1, memory_types="episodic")[0].memory.content \
            == "the mat is red"
        # The LlamaIndex view of the memory's embedder is the same model, same space.
        view = llamaindex_embedding(memory.embedder)
        assert view is model
        assert memory.recall_by_vector(view.get_query_embedding("green tea"), agent_id,
                                       k=1)[0].memory.content == "green tea"
    finally:
        await memory.aclose()
    # The store recorded the model: another model of the same dimension is refused.
    if mode == "pgvector":
        other = HybridMemory(embedder=LlamaIndexEmbedder(CountingEmbedding(model_name="other")),
                             postgres=PostgresBackend(url))
        try:
            with pytest.raises((ConfigError, DimensionMismatch), match="other"):
                other.recall("x", agent_id)
        finally:
            other.close()
