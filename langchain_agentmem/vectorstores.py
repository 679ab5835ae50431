"""``AgentMemVectorStore``: a LangChain ``VectorStore`` over one agent's memories of one type.

A thin translation layer: ``Document.page_content`` is a memory's ``content``,
``Document.metadata`` its ``metadata`` and ``Document.id`` its ``id``. Every call goes to
:class:`~agentmem.HybridMemory` (writes through ``remember_many``, searches through
``recall`` / ``recall_by_vector``, MMR through :class:`~agentmem.MMR`), and every async
method awaits agentmem's own async twin.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from langchain_core.documents import Document
from langchain_core.embeddings import Embeddings
from langchain_core.vectorstores import VectorStore
from pydantic import ValidationError
from typing_extensions import Self

from agentmem import MMR, AgentMemSettings, Embedder, HybridMemory, Memory, MemoryHit, MemoryType
from agentmem.errors import ConfigError, InvalidInput
from agentmem.models import as_agent_id, as_memory_type

from .embeddings import LangChainEmbedder, langchain_model_id

__all__ = ["AgentMemEmbeddings", "AgentMemVectorStore"]


class AgentMemEmbeddings(Embeddings):
    """An agentmem :class:`~agentmem.Embedder` seen as a LangChain ``Embeddings``."""

    def __init__(self, embedder: Embedder) -> None:
        self.embedder = embedder

    def __repr__(self) -> str:
        return f"AgentMemEmbeddings({self.embedder!r})"

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return self.embedder.embed_documents(texts)

    def embed_query(self, text: str) -> list[float]:
        return self.embedder.embed_query(text)

    async def aembed_documents(self, texts: list[str]) -> list[list[float]]:
        return await self.embedder.aembed_documents(texts)

    async def aembed_query(self, text: str) -> list[float]:
        return await self.embedder.aembed_query(text)


def _no_extra(kwargs: Mapping[str, Any], method: str) -> None:
    if kwargs:
        raise TypeError(f"AgentMemVectorStore.{method} got unexpected arguments: "
                        f"{', '.join(sorted(kwargs))}")


def _document(memory: Memory) -> Document:
    return Document(id=memory.id, page_content=memory.content, metadata=dict(memory.metadata))


def _relevance(score: float) -> float:
    """agentmem's cosine similarity as a LangChain relevance score: clipped to [0, 1]."""
    return min(1.0, max(0.0, score))


class AgentMemVectorStore(VectorStore):
    """The memories of one agent and one memory type, as a LangChain vector store.

    Embedding is done by the memory's own embedder (so that a document added here and a
    query from :class:`~langchain_agentmem.AgentMemRetriever` land in one space). To embed
    with a LangChain model, build the memory with ``embedder=LangChainEmbedder(model)``;
    ``embedding=`` is accepted only when it is that same model (else ``ConfigError``).

    Behaviour worth knowing:

    * ``add_documents`` / ``add_texts`` upsert by id (a uuid4 when a document has none)
      in one atomic ``remember_many`` batch. agentmem keeps ids unique per agent across
      memory types, so re-using the id of one of this agent's memories of another type
      moves that memory into this store's type.
    * Empty or blank ``page_content`` is refused with ``InvalidInput`` (a ``ValueError``)
      before anything is written: agentmem stores no memory without text, and dropping
      or padding such a document would return ids that do not round-trip.
    * Scores: ``similarity_search_with_score`` gives agentmem's cosine similarity (higher
      is closer, in [-1, 1]); relevance scores are that similarity clipped to [0, 1].
    * ``filter=`` takes agentmem's filter language (``$eq $ne $gt $gte $lt $lte $in $nin
      $and $or``) over metadata keys and the columns ``importance``, ``created_at``, ….
    * ``delete()`` with neither ids nor filter deletes every memory in this store's scope
      (this agent, this memory type), as LangChain's ``delete(ids=None)`` contract says.
    * Searches are dense by default, as a vector store's are. ``lexical_weight`` > 0
      fuses agentmem's BM25 search into text queries (scores are then the fused ones, in
      [0, 1]); ``None`` takes agentmem's default fusion. MMR searches are dense whatever
      ``lexical_weight`` is: diverse documents among the ``fetch_k`` nearest.
    """

    def __init__(self, memory: HybridMemory, *, agent_id: str,
                 memory_type: MemoryType | str = MemoryType.SEMANTIC,
                 embedding: Embeddings | None = None,
                 lexical_weight: float | None = 0.0) -> None:
        if not isinstance(memory, HybridMemory):
            raise InvalidInput(f"memory must be a HybridMemory, got {type(memory).__name__}")
        self.memory_type = as_memory_type(memory_type)
        self.lexical_weight = lexical_weight
        self.memory = memory
        self.agent_id = as_agent_id(agent_id)
        self._owns_memory = False
        embedder = memory.embedder
        wrapped = embedder.embeddings if isinstance(embedder, LangChainEmbedder) else None
        if embedding is not None and embedding is not wrapped \
                and langchain_model_id(embedding) != embedder.model_id:
            raise ConfigError(
                f"embedding {langchain_model_id(embedding)!r} is not the model this memory "
                f"embeds with ({embedder.model_id!r}): build the HybridMemory with "
                "embedder=LangChainEmbedder(embedding), or leave embedding out")
        self._embeddings: Embeddings = embedding or wrapped or AgentMemEmbeddings(embedder)

    def __repr__(self) -> str:
        return (f"AgentMemVectorStore(mode={self.memory.mode!r}, agent_id={self.agent_id!r}, "
                f"memory_type={self.memory_type.value!r})")

    @property
    def embeddings(self) -> Embeddings:
        """The LangChain view of the memory's embedder (never None)."""
        return self._embeddings

    # -- lifecycle (only a memory built by from_texts is ours to close) -------------------

    def close(self) -> None:
        """Close the memory if :meth:`from_texts` built it; a memory passed in stays open."""
        if self._owns_memory:
            self.memory.close()

    async def aclose(self) -> None:
        if self._owns_memory:
            await self.memory.aclose()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    # -- writing --------------------------------------------------------------------------

    def _memories(self, texts: Iterable[str], metadatas: Sequence[Mapping[str, Any] | None] | None,
                  ids: Sequence[str | None] | None) -> list[Memory]:
        texts = list(texts)
        if metadatas is not None and len(metadatas) != len(texts):
            raise InvalidInput(f"got {len(texts)} texts but {len(metadatas)} metadatas")
        if ids is not None and len(ids) != len(texts):
            raise InvalidInput(f"got {len(texts)} texts but {len(ids)} ids")
        out = []
        for i, text in enumerate(texts):
            if not isinstance(text, str) or not text.strip():
                raise InvalidInput(f"document {i} has no text (page_content {text!r}): agentmem "
                                   "stores no empty memory; drop or fill such documents first")
            meta = metadatas[i] if metadatas is not None else None
            doc_id = ids[i] if ids is not None else None
            try:
                # An empty id is an error (from Memory), never a reason to invent one.
                out.append(Memory(id=str(uuid.uuid4()) if doc_id is None else doc_id, content=text,
                                  agent_id=self.agent_id, memory_type=self.memory_type,
                                  metadata={} if meta is None else meta))  # type: ignore[arg-type]
            except ValidationError as exc:
                problems = "; ".join(f"{'.'.join(map(str, e['loc'])) or 'value'}: {e['msg']}"
                                     for e in exc.errors())
                raise InvalidInput(f"document {i} cannot be stored: {problems}") from exc
        return out

    @staticmethod
    def _document_ids(documents: Sequence[Document],
                      ids: Sequence[str | None] | None) -> Sequence[str | None]:
        return ids if ids is not None else [d.id for d in documents]

    def add_texts(self, texts: Iterable[str], metadatas: list[dict[str, Any]] | None = None,
                  *, ids: list[str] | None = None, **kwargs: Any) -> list[str]:
        """Upsert texts (one atomic batch); returns their ids."""
        _no_extra(kwargs, "add_texts")
        return [m.id for m in self.memory.remember_many(self._memories(texts, metadatas, ids))]

    async def aadd_texts(self, texts: Iterable[str], metadatas: list[dict[str, Any]] | None = None,
                         *, ids: list[str] | None = None, **kwargs: Any) -> list[str]:
        _no_extra(kwargs, "aadd_texts")
        memories = self._memories(texts, metadatas, ids)
        return [m.id for m in await self.memory.aremember_many(memories)]

    def add_documents(self, documents: list[Document], **kwargs: Any) -> list[str]:
        """Upsert documents by id (``ids=`` wins over ``Document.id``; uuid4 when neither)."""
        ids = kwargs.pop("ids", None)
        _no_extra(kwargs, "add_documents")
        memories = self._memories([d.page_content for d in documents],
                                  [d.metadata for d in documents],
                                  self._document_ids(documents, ids))
        return [m.id for m in self.memory.remember_many(memories)]

    async def aadd_documents(self, documents: list[Document], **kwargs: Any) -> list[str]:
        ids = kwargs.pop("ids", None)
        _no_extra(kwargs, "aadd_documents")
        memories = self._memories([d.page_content for d in documents],
                                  [d.metadata for d in documents],
                                  self._document_ids(documents, ids))
        return [m.id for m in await self.memory.aremember_many(memories)]

    def _forget_args(self, ids: list[str] | None, filter: Mapping[str, Any] | None
                     ) -> dict[str, Any]:
        return {"ids": ids, "agent_id": self.agent_id, "filter": filter,
                "memory_types": [self.memory_type]}

    def delete(self, ids: list[str] | None = None, *, filter: Mapping[str, Any] | None = None,
               **kwargs: Any) -> bool:
        """Delete by ids and/or filter; missing ids are no error. With neither: all of this store."""
        _no_extra(kwargs, "delete")
        if ids is not None and not ids:
            return True
        self.memory.forget(**self._forget_args(ids, filter))
        return True

    async def adelete(self, ids: list[str] | None = None, *,
                      filter: Mapping[str, Any] | None = None, **kwargs: Any) -> bool:
        _no_extra(kwargs, "adelete")
        if ids is not None and not ids:
            return True
        await self.memory.aforget(**self._forget_args(ids, filter))
        return True

    # -- reading --------------------------------------------------------------------------

    def _mine(self, memories: Iterable[Memory]) -> list[Document]:
        return [_document(m) for m in memories if m.memory_type == self.memory_type]

    def get_by_ids(self, ids: Sequence[str], /) -> list[Document]:
        """Documents by id, in the order asked; ids not in this store are left out."""
        return self._mine(self.memory.get_many(ids, self.agent_id))  # a str is one id

    async def aget_by_ids(self, ids: Sequence[str], /) -> list[Document]:
        return self._mine(await self.memory.aget_many(ids, self.agent_id))

    def _recall_args(self, k: int, filter: Mapping[str, Any] | None, kwargs: Mapping[str, Any],
                     method: str, mmr: MMR | None = None) -> dict[str, Any]:
        _no_extra(kwargs, method)
        return {"agent_id": self.agent_id, "memory_types": [self.memory_type], "k": k,
                "filter": filter, "mmr": mmr,
                # MMR is over the nearest vectors, as a LangChain vector store means it
                "lexical_weight": 0.0 if mmr is not None else self.lexical_weight}

    @staticmethod
    def _scored(hits: Sequence[MemoryHit]) -> list[tuple[Document, float]]:
        return [(_document(h.memory), h.score) for h in hits]

    def similarity_search_with_score(
            self, query: str, k: int = 4, filter: Mapping[str, Any] | None = None,
            **kwargs: Any) -> list[tuple[Document, float]]:
        """``(document, cosine similarity)`` pairs, closest first."""
        args = self._recall_args(k, filter, kwargs, "similarity_search_with_score")
        return self._scored(self.memory.recall(query, **args))

    async def asimilarity_search_with_score(
            self, query: str, k: int = 4, filter: Mapping[str, Any] | None = None,
            **kwargs: Any) -> list[tuple[Document, float]]:
        args = self._recall_args(k, filter, kwargs, "asimilarity_search_with_score")
        return self._scored(await self.memory.arecall(query, **args))

    def similarity_search(self, query: str, k: int = 4, filter: Mapping[str, Any] | None = None,
                          **kwargs: Any) -> list[Document]:
        return [d for d, _ in self.similarity_search_with_score(query, k, filter, **kwargs)]

    async def asimilarity_search(self, query: str, k: int = 4,
                                 filter: Mapping[str, Any] | None = None,
                                 **kwargs: Any) -> list[Document]:
        return [d for d, _ in await self.asimilarity_search_with_score(query, k, filter, **kwargs)]

    def similarity_search_with_score_by_vector(
            self, embedding: list[float], k: int = 4, filter: Mapping[str, Any] | None = None,
            **kwargs: Any) -> list[tuple[Document, float]]:
        args = self._recall_args(k, filter, kwargs, "similarity_search_with_score_by_vector")
        return self._scored(self.memory.recall_by_vector(embedding, **args))

    async def asimilarity_search_with_score_by_vector(
            self, embedding: list[float], k: int = 4, filter: Mapping[str, Any] | None = None,
            **kwargs: Any) -> list[tuple[Document, float]]:
        args = self._recall_args(k, filter, kwargs, "asimilarity_search_with_score_by_vector")
        return self._scored(await self.memory.arecall_by_vector(embedding, **args))

    def similarity_search_by_vector(self, embedding: list[float], k: int = 4,
                                    filter: Mapping[str, Any] | None = None,
                                    **kwargs: Any) -> list[Document]:
        return [d for d, _ in
                self.similarity_search_with_score_by_vector(embedding, k, filter, **kwargs)]

    async def asimilarity_search_by_vector(self, embedding: list[float], k: int = 4,
                                           filter: Mapping[str, Any] | None = None,
                                           **kwargs: Any) -> list[Document]:
        return [d for d, _ in
                await self.asimilarity_search_with_score_by_vector(embedding, k, filter, **kwargs)]

    def _select_relevance_score_fn(self) -> Callable[[float], float]:
        return _relevance

    def max_marginal_relevance_search(self, query: str, k: int = 4, fetch_k: int = 20,
                                      lambda_mult: float = 0.5,
                                      filter: Mapping[str, Any] | None = None,
                                      **kwargs: Any) -> list[Document]:
        """``k`` diverse documents out of the ``fetch_k`` closest (``agentmem.MMR``)."""
        args = self._recall_args(k, filter, kwargs, "max_marginal_relevance_search",
                                 MMR(fetch_k=fetch_k, lambda_mult=lambda_mult))
        return [_document(h.memory) for h in self.memory.recall(query, **args)]

    async def amax_marginal_relevance_search(self, query: str, k: int = 4, fetch_k: int = 20,
                                             lambda_mult: float = 0.5,
                                             filter: Mapping[str, Any] | None = None,
                                             **kwargs: Any) -> list[Document]:
        args = self._recall_args(k, filter, kwargs, "amax_marginal_relevance_search",
                                 MMR(fetch_k=fetch_k, lambda_mult=lambda_mult))
        return [_document(h.memory) for h in await self.memory.arecall(query, **args)]

    def max_marginal_relevance_search_by_vector(self, embedding: list[float], k: int = 4,
                                                fetch_k: int = 20, lambda_mult: float = 0.5,
                                                filter: Mapping[str, Any] | None = None,
                                                **kwargs: Any) -> list[Document]:
        args = self._recall_args(k, filter, kwargs, "max_marginal_relevance_search_by_vector",
                                 MMR(fetch_k=fetch_k, lambda_mult=lambda_mult))
        return [_document(h.memory) for h in self.memory.recall_by_vector(embedding, **args)]

    async def amax_marginal_relevance_search_by_vector(
            self, embedding: list[float], k: int = 4, fetch_k: int = 20,
            lambda_mult: float = 0.5, filter: Mapping[str, Any] | None = None,
            **kwargs: Any) -> list[Document]:
        args = self._recall_args(k, filter, kwargs, "amax_marginal_relevance_search_by_vector",
                                 MMR(fetch_k=fetch_k, lambda_mult=lambda_mult))
        return [_document(h.memory)
                for h in await self.memory.arecall_by_vector(embedding, **args)]

    # -- construction from texts ----------------------------------------------------------

    @classmethod
    def _for_texts(cls, embedding: Embeddings, memory: HybridMemory | None,
                   agent_id: str | None, memory_type: MemoryType | str,
                   settings: AgentMemSettings | None) -> tuple[Self, bool]:
        """The store ``from_texts`` fills, and whether its memory is new (needs init)."""
        if not isinstance(agent_id, str) or not agent_id.strip():
            raise InvalidInput("from_texts / from_documents need agent_id='...': a store is "
                               "scoped to one agent")
        if memory is not None:
            if settings is not None:
                raise InvalidInput("pass memory= or settings=, not both")
            return cls(memory, agent_id=agent_id, memory_type=memory_type,
                       embedding=embedding), False
        built = HybridMemory.from_settings(settings, embedder=LangChainEmbedder(embedding))
        try:
            store = cls(built, agent_id=agent_id, memory_type=memory_type, embedding=embedding)
        except BaseException:
            built.close()
            raise
        store._owns_memory = True
        return store, True

    @classmethod
    def from_texts(cls, texts: list[str], embedding: Embeddings,
                   metadatas: list[dict[str, Any]] | None = None, *,
                   ids: list[str] | None = None, memory: HybridMemory | None = None,
                   agent_id: str | None = None,
                   memory_type: MemoryType | str = MemoryType.SEMANTIC,
                   settings: AgentMemSettings | None = None, **kwargs: Any) -> Self:
        """A store for ``agent_id`` holding ``texts``.

        With ``memory=``, the store uses that memory (which must embed with ``embedding``)
        and leaves it open. Without it, a memory is built from ``settings`` (the
        environment when None: ``AGENTMEM_POSTGRES_URL``, ``AGENTMEM_CHROMA_URL``, …) with
        ``LangChainEmbedder(embedding)``, initialised (idempotent; it refuses a store made
        with another model), and owned by the store: close it with ``store.close()`` or
        ``with``.
        """
        _no_extra(kwargs, "from_texts")
        store, new = cls._for_texts(embedding, memory, agent_id, memory_type, settings)
        try:
            if new:
                store.memory.init()
            store.add_texts(texts, metadatas, ids=ids)
        except BaseException:
            store.close()
            raise
        return store

    @classmethod
    async def afrom_texts(cls, texts: list[str], embedding: Embeddings,
                          metadatas: list[dict[str, Any]] | None = None, *,
                          ids: list[str] | None = None, memory: HybridMemory | None = None,
                          agent_id: str | None = None,
                          memory_type: MemoryType | str = MemoryType.SEMANTIC,
                          settings: AgentMemSettings | None = None, **kwargs: Any) -> Self:
        _no_extra(kwargs, "afrom_texts")
        store, new = cls._for_texts(embedding, memory, agent_id, memory_type, settings)
        try:
            if new:
                await store.memory.ainit()
            await store.aadd_texts(texts, metadatas, ids=ids)
        except BaseException:
            await store.aclose()
            raise
        return store
