"""Argument checks shared by the facade: each turns bad input into :class:`InvalidInput`."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, TypeVar

import numpy as np
from pydantic import ValidationError

from .backends._vectors import as_matrix
from .backends.base import Vector, Vectors
from .embeddings import Embedder
from .errors import DimensionMismatch, InvalidInput
from .filters import FilterNode, parse_filter
from .models import MemoryType, as_agent_id, as_memory_type

__all__ = ["MemoryTypes", "build", "embeddings", "limit", "memory_types", "offset", "query_text",
           "query_vector", "scope", "top_k", "weight"]

T = TypeVar("T")
MemoryTypes = MemoryType | str | Iterable[MemoryType | str] | None
MAX_K = 10_000


def memory_types(value: MemoryTypes) -> list[MemoryType]:
    """The types asked for, each once, in order; every type when None."""
    if value is None:
        return list(MemoryType)
    items = [value] if isinstance(value, (str, MemoryType)) else list(value)
    out = [as_memory_type(v) for v in items]
    if not out:
        raise InvalidInput("memory_types must name at least one type")
    return list(dict.fromkeys(out))


def scope(agent_id: str | None, types: MemoryTypes,
          filter: Mapping[str, Any] | None) -> tuple[str, list[MemoryType], FilterNode | None]:
    """The (agent, memory types, parsed filter) most calls are scoped by."""
    return as_agent_id(agent_id), memory_types(types), parse_filter(filter)


def top_k(k: int) -> int:
    if isinstance(k, bool) or not isinstance(k, int) or not 1 <= k <= MAX_K:
        raise InvalidInput(f"k must be an int in 1..{MAX_K}, got {k!r}")
    return k


def limit(value: int | None, *, allow_zero: bool) -> int | None:
    low = 0 if allow_zero else 1
    if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < low):
        kind = "non-negative" if allow_zero else "positive"
        raise InvalidInput(f"limit must be a {kind} int or None, got {value!r}")
    return value


def offset(value: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise InvalidInput(f"offset must be a non-negative int, got {value!r}")
    return value


def weight(value: float, name: str) -> float:
    if not 0.0 <= value <= 1.0:
        raise InvalidInput(f"{name} must be in [0, 1], got {value!r}")
    return float(value)


def query_text(text: object, what: str) -> str:
    if not isinstance(text, str) or not text.strip():
        raise InvalidInput(f"{what} needs a non-empty query text")
    return text


def build(cls: type[T], **fields: Any) -> T:
    """Build a model, turning validation errors into InvalidInput."""
    try:
        return cls(**fields)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc'])) or 'value'}: {e['msg']}"
                             for e in exc.errors())
        raise InvalidInput(f"invalid {cls.__name__}: {problems}") from exc


def query_vector(vector: Vector, embedder: Embedder) -> Vector:
    if len(vector) != embedder.dimension:
        raise DimensionMismatch(f"query vector has dimension {len(vector)} but the store "
                                f"holds {embedder.dimension}")
    return vector


def embeddings(given: Vectors, count: int,
               embedder: Embedder) -> np.ndarray:
    """Vectors for ``count`` memories as one checked float32 matrix (converted once)."""
    if len(given) != count:
        raise InvalidInput(f"{count} memories but {len(given)} embeddings")
    return as_matrix(given, embedder.dimension, "embedding")
