"""The shared base of embedders that wrap another library's model (LangChain, LlamaIndex)."""

from __future__ import annotations

import math
import threading
from abc import ABC, abstractmethod
from collections.abc import Sequence
from typing import Any

from ..errors import ConfigError, InvalidInput

__all__ = ["WrappedEmbedder"]

PROBE_TEXT = "dimension probe"


def _vector(raw: Any, what: str) -> list[float]:
    try:
        return [float(x) for x in raw]
    except (TypeError, ValueError) as exc:
        raise InvalidInput(f"{what} is not a sequence of numbers") from exc


def _vectors(raw: Any, n: int, what: str) -> list[list[float]]:
    out = [_vector(v, f"{what} vector {i}") for i, v in enumerate(raw)]
    if len(out) != n:
        raise InvalidInput(f"{what} returned {len(out)} vectors for {n} texts")
    return out


class WrappedEmbedder(ABC):
    """An agentmem ``Embedder`` over a framework model: a recorded model id, a dimension
    probed once on first use (unless given), and every returned vector checked.

    Subclasses implement the four ``_embed*`` hooks that call the wrapped model.
    """

    def __init__(self, *, model_id: str, dimension: int | None = None) -> None:
        if not isinstance(model_id, str) or not model_id.strip():
            raise InvalidInput(f"model_id must be a non-empty string, got {model_id!r}")
        if dimension is not None and (isinstance(dimension, bool) or not isinstance(dimension, int)
                                      or dimension < 1):
            raise InvalidInput(f"dimension must be a positive int, got {dimension!r}")
        self._model_id = model_id
        self._dimension = dimension
        self._probe_lock = threading.Lock()

    @property
    def model_id(self) -> str:
        return self._model_id

    @property
    def dimension(self) -> int:
        """The vector length, detected once by embedding a probe text unless given."""
        if self._dimension is None:
            with self._probe_lock:
                if self._dimension is None:
                    self._dimension = self._probe_dimension()
        return self._dimension

    def _probe_dimension(self) -> int:
        probe = self.embed_query(PROBE_TEXT)
        if not probe or not all(math.isfinite(x) for x in probe):
            raise ConfigError(f"{self._model_id} returned an empty or non-finite vector for a "
                              "probe text: cannot tell its dimension")
        return len(probe)

    def embed_documents(self, texts: Sequence[str]) -> list[list[float]]:
        texts = list(texts)
        return _vectors(self._embed_documents(texts), len(texts), self._model_id) if texts else []

    def embed_query(self, text: str) -> list[float]:
        return _vector(self._embed_query(text), f"{self._model_id} query")

    async def aembed_documents(self, texts: Sequence[str]) -> list[list[float]]:
        texts = list(texts)
        if not texts:
            return []
        return _vectors(await self._aembed_documents(texts), len(texts), self._model_id)

    async def aembed_query(self, text: str) -> list[float]:
        return _vector(await self._aembed_query(text), f"{self._model_id} query")

    @abstractmethod
    def _embed_documents(self, texts: list[str]) -> Any: ...

    @abstractmethod
    def _embed_query(self, text: str) -> Any: ...

    @abstractmethod
    async def _aembed_documents(self, texts: list[str]) -> Any: ...

    @abstractmethod
    async def _aembed_query(self, text: str) -> Any: ...
