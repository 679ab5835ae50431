"""Rank fusion: one ranking from a dense and a lexical one."""

from __future__ import annotations

from collections.abc import Sequence

__all__ = ["RRF_K", "fuse_ranks"]

RRF_K = 60  # the usual reciprocal-rank-fusion constant


def fuse_ranks(dense: Sequence[str], lexical: Sequence[str], lexical_weight: float) -> list[str]:
    """Weighted reciprocal rank fusion of two ranked id lists, best first."""
    score: dict[str, float] = {}
    for weight, ranked in ((1.0 - lexical_weight, dense), (lexical_weight, lexical)):
        for rank, key in enumerate(ranked):
            score[key] = score.get(key, 0.0) + weight / (RRF_K + rank + 1)
    return sorted(score, key=lambda key: -score[key])
