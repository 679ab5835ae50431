"""Plain helpers for the figures: recall@k, percentiles, medians and ratios."""

from __future__ import annotations

import math
from collections.abc import Sequence

__all__ = ["mean", "median", "percentile", "ratio", "recall_at_k", "pick_at_recall"]


def recall_at_k(found_ids: Sequence[str], true_ids: Sequence[str], k: int) -> float:
    """Share of the first ``k`` true ids that appear among the first ``k`` found ids.

    The denominator is ``min(k, len(true_ids))``, so an agent holding fewer than ``k`` rows
    can still score 1.0; with nothing to find (no true ids) the recall is 1.0.
    """
    if k < 1:
        raise ValueError(f"k must be at least 1, got {k}")
    truth = set(true_ids[:k])
    if not truth:
        return 1.0
    return len(truth.intersection(found_ids[:k])) / len(truth)


def percentile(values: Sequence[float], q: float) -> float:
    """The ``q``-th percentile (0..100) with linear interpolation (numpy's default)."""
    if not values:
        raise ValueError("percentile of no values")
    if not 0 <= q <= 100:
        raise ValueError(f"q must be in [0, 100], got {q}")
    ordered = sorted(values)
    pos = (len(ordered) - 1) * q / 100
    lo, hi = math.floor(pos), math.ceil(pos)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (pos - lo)


def median(values: Sequence[float | None]) -> float | None:
    """Median of the values that are not None; None when there are none."""
    present = [v for v in values if v is not None]
    return percentile(present, 50) if present else None


def mean(values: Sequence[float]) -> float:
    """Arithmetic mean; ValueError on no values."""
    if not values:
        raise ValueError("mean of no values")
    return sum(values) / len(values)


def ratio(numerator: float | None, denominator: float | None) -> float | None:
    """``numerator / denominator``, or None when either is missing or the denominator is 0."""
    if numerator is None or denominator is None or denominator == 0:
        return None
    return numerator / denominator


def pick_at_recall(candidates: Sequence[tuple[str, float, float]], target: float,
                   tolerance: float = 0.005) -> tuple[str, float, float] | None:
    """Among ``(name, recall, latency)`` candidates, the fastest whose recall reaches
    ``target - tolerance``; if none does, the one with the highest recall (then fastest).

    Used to compare a system against raw HNSW "at the same recall".
    """
    if not candidates:
        return None
    good = [c for c in candidates if c[1] >= target - tolerance]
    if good:
        return min(good, key=lambda c: c[2])
    return max(candidates, key=lambda c: (c[1], -c[2]))
