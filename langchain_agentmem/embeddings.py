"""Any LangChain ``Embeddings`` as an agentmem :class:`~agentmem.Embedder`.

    from langchain_openai import OpenAIEmbeddings
    memory = HybridMemory.from_settings(embedder=LangChainEmbedder(OpenAIEmbeddings()))
"""

from __future__ import annotations

from typing import Any

from langchain_core.embeddings import Embeddings

from agentmem.embeddings.wrapped import WrappedEmbedder
from agentmem.errors import InvalidInput

__all__ = ["LangChainEmbedder", "langchain_model_id"]

def langchain_model_id(embeddings: Embeddings) -> str:
    """``langchain:<model>``: the ``model`` / ``model_name`` attribute, else the class name."""
    for attr in ("model", "model_name"):
        value = getattr(embeddings, attr, None)
        if isinstance(value, str) and value.strip():
            return f"langchain:{value.strip()}"
    return f"langchain:{type(embeddings).__name__}"


class LangChainEmbedder(WrappedEmbedder):
    """Wraps a LangChain ``Embeddings`` so that a :class:`~agentmem.HybridMemory` can use it.

    ``model_id`` (recorded by the store, which then refuses another model) is
    ``langchain:`` plus the wrapped object's ``model`` or ``model_name`` attribute, or its
    class name when it has neither; pass ``model_id=`` to choose it yourself. ``dimension``
    is found once, on first use, by embedding a short probe text; pass ``dimension=`` to
    skip the probe (e.g. for a paid API). Async methods call the wrapped object's
    ``aembed_*``.
    """

    def __init__(self, embeddings: Embeddings, *, model_id: str | None = None,
                 dimension: int | None = None) -> None:
        if not isinstance(embeddings, Embeddings):
            raise InvalidInput(f"LangChainEmbedder wraps a langchain_core Embeddings, got "
                               f"{type(embeddings).__name__}")
        super().__init__(model_id=langchain_model_id(embeddings) if model_id is None else model_id,
                         dimension=dimension)
        self.embeddings = embeddings

    def __repr__(self) -> str:
        return f"LangChainEmbedder({self.embeddings!r}, model_id={self._model_id!r})"

    def _embed_documents(self, texts: list[str]) -> Any:
        return self.embeddings.embed_documents(texts)

    def _embed_query(self, text: str) -> Any:
        return self.embeddings.embed_query(text)

    async def _aembed_documents(self, texts: list[str]) -> Any:
        return await self.embeddings.aembed_documents(texts)

    async def _aembed_query(self, text: str) -> Any:
        return await self.embeddings.aembed_query(text)
