"""One embedding configuration for both frameworks.

- :class:`LlamaIndexEmbedder` wraps any LlamaIndex ``BaseEmbedding`` as an agentmem
  :class:`~agentmem.Embedder`, so that a :class:`~agentmem.HybridMemory` embeds with it::

      from llama_index.embeddings.openai import OpenAIEmbedding
      memory = HybridMemory.from_settings(embedder=LlamaIndexEmbedder(OpenAIEmbedding()))

- :class:`AgentMemEmbedding` is the reverse: an agentmem ``Embedder`` (``HashingEmbedder``,
  ``OpenAIEmbedder``, ``SentenceTransformerEmbedder``, ...) seen as a LlamaIndex
  ``BaseEmbedding``, e.g. for ``Settings.embed_model``.

:func:`llamaindex_embedding` gives the LlamaIndex view of a memory's embedder, unwrapping a
``LlamaIndexEmbedder`` instead of wrapping it twice.
"""

from __future__ import annotations

from typing import Any

from llama_index.core.base.embeddings.base import BaseEmbedding
from pydantic import PrivateAttr

from agentmem.embeddings import Embedder
from agentmem.embeddings.wrapped import WrappedEmbedder
from agentmem.errors import InvalidInput

__all__ = ["AgentMemEmbedding", "LlamaIndexEmbedder", "llamaindex_embedding",
           "llamaindex_model_id"]

_UNNAMED = frozenset({"", "unknown"})


def llamaindex_model_id(embed_model: BaseEmbedding) -> str:
    """``llamaindex:<model_name>``; the class name when ``model_name`` is unset (``unknown``)."""
    name = embed_model.model_name.strip() if isinstance(embed_model.model_name, str) else ""
    if name in _UNNAMED:
        name = type(embed_model).__name__
    return f"llamaindex:{name}"


_EMBEDDER_MEMBERS = ("model_id", "dimension", "embed_documents", "embed_query",
                     "aembed_documents", "aembed_query")


def _is_embedder(obj: object) -> bool:
    """``isinstance(obj, Embedder)`` without reading its properties (that can probe a model)."""
    own = getattr(obj, "__dict__", {})
    return all(hasattr(type(obj), name) or name in own for name in _EMBEDDER_MEMBERS)


class LlamaIndexEmbedder(WrappedEmbedder):
    """Wraps a LlamaIndex ``BaseEmbedding`` so that a :class:`~agentmem.HybridMemory` can use it.

    ``model_id`` (recorded by the store, which then refuses another model) is
    ``llamaindex:`` plus the wrapped model's ``model_name`` (its class name when the name is
    the default ``unknown``); pass ``model_id=`` to choose it yourself. ``dimension`` is
    found once, on first use, by embedding a short probe text; pass ``dimension=`` to skip
    the probe (e.g. for a paid API). Documents go through ``get_text_embedding_batch`` (so
    the model's ``embed_batch_size`` applies), queries through ``get_query_embedding``, and
    the async methods through the wrapped model's ``aget_*`` twins.

    Wrapping an :class:`AgentMemEmbedding` gives back the id and dimension of the agentmem
    embedder inside it, so a store built with either sees the same model.
    """

    def __init__(self, embed_model: BaseEmbedding, *, model_id: str | None = None,
                 dimension: int | None = None) -> None:
        if not isinstance(embed_model, BaseEmbedding):
            raise InvalidInput(f"LlamaIndexEmbedder wraps a LlamaIndex BaseEmbedding, got "
                               f"{type(embed_model).__name__}")
        if model_id is None:
            model_id = (embed_model.embedder.model_id if isinstance(embed_model, AgentMemEmbedding)
                        else llamaindex_model_id(embed_model))
        super().__init__(model_id=model_id, dimension=dimension)
        self.embed_model = embed_model

    def __repr__(self) -> str:
        return f"LlamaIndexEmbedder({type(self.embed_model).__name__}, model_id={self._model_id!r})"

    def _probe_dimension(self) -> int:
        if isinstance(self.embed_model, AgentMemEmbedding):  # no need to embed anything
            return self.embed_model.embedder.dimension
        return super()._probe_dimension()

    def _embed_documents(self, texts: list[str]) -> Any:
        return self.embed_model.get_text_embedding_batch(texts)

    def _embed_query(self, text: str) -> Any:
        return self.embed_model.get_query_embedding(text)

    async def _aembed_documents(self, texts: list[str]) -> Any:
        return await self.embed_model.aget_text_embedding_batch(texts)

    async def _aembed_query(self, text: str) -> Any:
        return await self.embed_model.aget_query_embedding(text)


class AgentMemEmbedding(BaseEmbedding):
    """An agentmem :class:`~agentmem.Embedder` as a LlamaIndex ``BaseEmbedding``.

    ``model_name`` is the embedder's ``model_id``. Sync calls run the embedder's sync
    methods, async calls its ``aembed_*`` twins; batches are embedded in one call per
    ``embed_batch_size`` texts.

    Example:
        .. code-block:: python

            from llama_index.core import Settings
            Settings.embed_model = AgentMemEmbedding(memory.embedder)
    """

    _embedder: Embedder = PrivateAttr()

    def __init__(self, embedder: Embedder, **kwargs: Any) -> None:
        if not _is_embedder(embedder):
            raise InvalidInput(f"AgentMemEmbedding wraps an agentmem Embedder, got "
                               f"{type(embedder).__name__}")
        kwargs.setdefault("model_name", embedder.model_id)
        super().__init__(**kwargs)
        self._embedder = embedder

    @classmethod
    def class_name(cls) -> str:
        return "AgentMemEmbedding"

    @property
    def embedder(self) -> Embedder:
        """The wrapped agentmem embedder."""
        return self._embedder

    @property
    def dimension(self) -> int:
        """Length of every vector (the embedder's ``dimension``)."""
        return self._embedder.dimension

    def _get_query_embedding(self, query: str) -> list[float]:
        return self._embedder.embed_query(query)

    async def _aget_query_embedding(self, query: str) -> list[float]:
        return await self._embedder.aembed_query(query)

    def _get_text_embedding(self, text: str) -> list[float]:
        return self._embedder.embed_documents([text])[0]

    async def _aget_text_embedding(self, text: str) -> list[float]:
        return (await self._embedder.aembed_documents([text]))[0]

    def _get_text_embeddings(self, texts: list[str]) -> list[list[float]]:
        return self._embedder.embed_documents(texts)

    async def _aget_text_embeddings(self, texts: list[str]) -> list[list[float]]:
        return await self._embedder.aembed_documents(texts)


def llamaindex_embedding(embedder: Embedder) -> BaseEmbedding:
    """The LlamaIndex view of an agentmem embedder (e.g. ``memory.embedder``).

    A :class:`LlamaIndexEmbedder` gives back the model it wraps; anything else is wrapped
    in an :class:`AgentMemEmbedding`. Either way, texts embedded by LlamaIndex and by the
    memory land in one vector space.
    """
    if isinstance(embedder, LlamaIndexEmbedder):
        return embedder.embed_model
    return AgentMemEmbedding(embedder)
