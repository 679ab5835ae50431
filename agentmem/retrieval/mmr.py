"""Maximal marginal relevance: relevant results that are not all alike."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from ..backends._vectors import unit_rows
from ..errors import InvalidInput

__all__ = ["MMR", "mmr_select"]


@dataclass(frozen=True)
class MMR:
    """Take the ``fetch_k`` best candidates of a recall, keep ``k`` diverse ones.

    The candidates are the nearest neighbours of a dense recall, or the best of a fused
    one by their final score. ``lambda_mult`` 1.0 is pure relevance, 0.0 pure diversity
    (LangChain's convention).
    """

    fetch_k: int = 20
    lambda_mult: float = 0.5

    def __post_init__(self) -> None:
        if isinstance(self.fetch_k, bool) or not isinstance(self.fetch_k, int) or self.fetch_k < 1:
            raise InvalidInput(f"fetch_k must be a positive int, got {self.fetch_k!r}")
        if not 0.0 <= float(self.lambda_mult) <= 1.0:
            raise InvalidInput(f"lambda_mult must be in [0, 1], got {self.lambda_mult!r}")


def mmr_select(relevance: Sequence[float], vectors: Sequence[Sequence[float]] | np.ndarray,
               k: int, lambda_mult: float) -> list[int]:
    """Indices of ``k`` candidates chosen greedily by maximal marginal relevance.

    ``relevance`` is each candidate's score for the query (a dense recall's cosine, a
    fused recall's final score); redundancy is the cosine between candidates' ``vectors``.
    Taking the scores as given lets one selection serve every kind of recall.
    """
    if len(relevance) != len(vectors):
        raise InvalidInput(f"mmr_select needs one vector per score, got {len(vectors)} vectors "
                           f"for {len(relevance)} scores")
    if not len(relevance) or k < 1:
        return []
    rel = np.asarray(relevance, dtype=np.float64)
    c = unit_rows(np.asarray(vectors, dtype=np.float64))
    pairwise = c @ c.T
    chosen = [int(np.argmax(rel))]
    while len(chosen) < min(k, len(c)):
        redundancy = pairwise[:, chosen].max(axis=1)
        scores = lambda_mult * rel - (1.0 - lambda_mult) * redundancy
        scores[chosen] = -np.inf
        chosen.append(int(np.argmax(scores)))
    return chosen
