"""Vectors as one float32 matrix, checked once: the form every backend writes."""

from __future__ import annotations

from collections.abc import Sequence, Sized

import numpy as np

from ..errors import DimensionMismatch, InvalidInput

__all__ = ["as_matrix", "unit_rows"]


def unit_rows(m: np.ndarray) -> np.ndarray:
    """``m`` (one vector or rows of them) scaled to unit length; zero vectors stay zero."""
    norms = np.linalg.norm(m, axis=-1, keepdims=True)
    return m / np.where(norms == 0, 1.0, norms)


def as_matrix(vectors: Sequence[Sequence[float] | np.ndarray] | np.ndarray, dimension: int | None,
              what: str = "vector") -> np.ndarray:
    """``vectors`` as an (n, dimension) float32 array; raises on ragged, wrong-size or
    non-finite input, naming ``what``."""
    try:
        arr = np.asarray(vectors, dtype=np.float32)
    except (TypeError, ValueError) as exc:
        for i, v in enumerate(vectors):  # ragged: name the first vector of another length
            n = len(v) if isinstance(v, Sized) else None
            if dimension is not None and n is not None and n != dimension:
                raise DimensionMismatch(f"{what} {i} has dimension {n} but this store holds "
                                        f"dimension {dimension}") from exc
        raise InvalidInput(f"each {what} must be a flat sequence of numbers of one length"
                           ) from exc
    if arr.ndim == 1 and arr.size == 0:
        arr = arr.reshape(0, dimension or 0)
    if arr.ndim != 2:
        raise InvalidInput(f"each {what} must be a flat sequence of numbers")
    if dimension is not None and arr.shape[1] != dimension:
        raise DimensionMismatch(f"{what} has dimension {arr.shape[1]} but this store holds "
                                f"dimension {dimension}")
    if not np.isfinite(arr).all():
        raise InvalidInput(f"{what}s must contain finite numbers only (no NaN or infinity)")
    return arr
