"""Any LangChain ``Embeddings`` as an agentmem :class:`~agentmem.Embedder`.

    from langchain_openai import OpenAIEmbeddings
    memory = HybridMemory.from_settings(embedder=LangChainEmbedder(OpenAIEmbeddings()))
"""

from __future__ import annotations

import math
import threading
from collections.abc import Sequence
from typing import Any

from langchain_core.embeddings import Embeddings

from agentmem.errors import ConfigError, InvalidInput

__all__ = ["LangChainEmbedder", "langchain_model_id"]

_PROBE_TEXT = "dimension probe"


def langchain_model_id(embeddings: Embeddings) -> str:
    """``langchain:<model>``: the ``model`` / ``model_name`` attribute, else the class name."""
    for attr in ("model", "model_name"):
        value = getattr(embeddings, attr, None)
        if isinstance(value, str) and value.strip():
            return f"langchain:{value.strip()}"
    return f"langchain:{type(embeddings).__name__}"


def _vector(raw: Any, what: str) -> list[float]:
    try:
        out = [float(x) for x in raw]
    except (TypeError, ValueError) as exc:
        raise InvalidInput(f"{what} is not a sequence of numbers") from exc
    return out


def _vectors(raw: Any, n: int, what: str) -> list[list[float]]:
    out = [_vector(v, f"{what} vector {i}") for i, v in enumerate(raw)]
    if len(out) != n:
        raise InvalidInput(f"{what} returned {len(out)} vectors for {n} texts")
    return out


class LangChainEmbedder:
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
        if model_id is not None and (not isinstance(model_id, str) or not model_id.strip()):
            raise InvalidInput(f"model_id must be a non-empty string, got {model_id!r}")
        if dimension is not None and (isinstance(dimension, bool) or not isinstance(dimension, int)
                                      or dimension < 1):
            raise InvalidInput(f"dimension must be a positive int, got {dimension!r}")
        self.embeddings = embeddings
        self._model_id = model_id or langchain_model_id(embeddings)
        self._dimension = dimension
        self._probe_lock = threading.Lock()

    def __repr__(self) -> str:
        return f"LangChainEmbedder({self.embeddings!r}, model_id={self._model_id!r})"

    @property
    def model_id(self) -> str:
        return self._model_id

    @property
    def dimension(self) -> int:
        """The vector length, detected once by embedding a probe unless given."""
        if self._dimension is None:
            with self._probe_lock:
                if self._dimension is None:
                    probe = _vector(self.embeddings.embed_query(_PROBE_TEXT), "the probe")
                    if not probe or not all(math.isfinite(x) for x in probe):
                        raise ConfigError(f"{self._model_id} returned an empty or non-finite "
                                          "vector for a probe text: cannot tell its dimension")
                    self._dimension = len(probe)
        return self._dimension

    def embed_documents(self, texts: Sequence[str]) -> list[list[float]]:
        texts = list(texts)
        if not texts:
            return []
        return _vectors(self.embeddings.embed_documents(texts), len(texts), self._model_id)

    def embed_query(self, text: str) -> list[float]:
        return _vector(self.embeddings.embed_query(text), f"{self._model_id} query")

    async def aembed_documents(self, texts: Sequence[str]) -> list[list[float]]:
        texts = list(texts)
        if not texts:
            return []
        return _vectors(await self.embeddings.aembed_documents(texts), len(texts), self._model_id)

    async def aembed_query(self, text: str) -> list[float]:
        return _vector(await self.embeddings.aembed_query(text), f"{self._model_id} query")
