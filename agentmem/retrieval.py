"""Retrieval policies applied on top of a backend's nearest neighbours."""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from .errors import InvalidInput

__all__ = ["MMR", "fuse_ranks", "lexical_scores", "mmr_select"]

_TOKEN = re.compile(r"\w+", re.UNICODE)
RRF_K = 60  # the usual reciprocal-rank-fusion constant


@dataclass(frozen=True)
class MMR:
    """Maximal marginal relevance: fetch ``fetch_k`` candidates, keep ``k`` diverse ones.

    ``lambda_mult`` 1.0 is pure relevance, 0.0 pure diversity (LangChain's convention).
    """

    fetch_k: int = 20
    lambda_mult: float = 0.5

    def __post_init__(self) -> None:
        if isinstance(self.fetch_k, bool) or not isinstance(self.fetch_k, int) or self.fetch_k < 1:
            raise InvalidInput(f"fetch_k must be a positive int, got {self.fetch_k!r}")
        if not 0.0 <= float(self.lambda_mult) <= 1.0:
            raise InvalidInput(f"lambda_mult must be in [0, 1], got {self.lambda_mult!r}")


def mmr_select(query: Sequence[float], candidates: Sequence[Sequence[float]], k: int,
               lambda_mult: float) -> list[int]:
    """Indices of ``k`` candidates chosen greedily by maximal marginal relevance (cosine)."""
    if not candidates or k < 1:
        return []
    q = np.asarray(query, dtype=np.float64)
    c = np.asarray(candidates, dtype=np.float64)
    q = q / (np.linalg.norm(q) or 1.0)
    c = c / np.where(np.linalg.norm(c, axis=1, keepdims=True) == 0, 1.0,
                     np.linalg.norm(c, axis=1, keepdims=True))
    relevance = c @ q
    pairwise = c @ c.T
    chosen = [int(np.argmax(relevance))]
    while len(chosen) < min(k, len(c)):
        redundancy = pairwise[:, chosen].max(axis=1)
        scores = lambda_mult * relevance - (1.0 - lambda_mult) * redundancy
        scores[chosen] = -np.inf
        chosen.append(int(np.argmax(scores)))
    return chosen


def tokens(text: str) -> list[str]:
    return _TOKEN.findall(text.lower())


def lexical_scores(query: str, texts: Sequence[str]) -> list[float]:
    """BM25-style relevance of each text to ``query``, squashed into [0, 1); 0 = no shared term.

    Used where the store has no full-text index of its own (Chroma); PostgreSQL ranks with
    its ``tsvector`` index instead.
    """
    terms = set(tokens(query))
    docs = [Counter(tokens(t)) for t in texts]
    if not terms or not docs:
        return [0.0] * len(texts)
    avg_len = sum(sum(d.values()) for d in docs) / len(docs) or 1.0
    scores = []
    for d in docs:
        length = sum(d.values())
        s = 0.0
        for term in terms:
            tf = d.get(term, 0)
            if tf:
                df = sum(1 for other in docs if term in other)
                idf = math.log(1 + (len(docs) - df + 0.5) / (df + 0.5))
                s += idf * tf * 2.2 / (tf + 1.2 * (0.25 + 0.75 * length / avg_len))
        scores.append(s / (s + 1.0))
    return scores


def fuse_ranks(dense: Sequence[str], lexical: Sequence[str], lexical_weight: float) -> list[str]:
    """Weighted reciprocal rank fusion of two ranked id lists, best first."""
    score: dict[str, float] = {}
    for weight, ranked in ((1.0 - lexical_weight, dense), (lexical_weight, lexical)):
        for rank, key in enumerate(ranked):
            score[key] = score.get(key, 0.0) + weight / (RRF_K + rank + 1)
    return sorted(score, key=lambda key: -score[key])
