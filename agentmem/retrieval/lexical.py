"""BM25 ranking for stores without a full-text index of their own (Chroma).

PostgreSQL ranks with its ``tsvector`` index instead. Scoring is bm25s' Lucene variant
(k1 1.2, b 0.75) over the texts given, which costs O(N·T) once per search.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np

__all__ = ["K1", "B", "bm25_top", "tokens"]

_TOKEN = re.compile(r"\w+", re.UNICODE)
K1, B = 1.2, 0.75


def tokens(text: str) -> list[str]:
    """Lower-cased word tokens (letters, digits, underscore; any script)."""
    return _TOKEN.findall(text.lower())


def bm25_top(query: str, texts: Sequence[str], k: int) -> list[tuple[int, float]]:
    """(index, score) of the ``k`` texts most relevant to ``query``, best first.

    Scores are BM25 squashed into [0, 1) by s / (s + 1); texts sharing no word with the
    query are left out; ties keep the order of ``texts``.
    """
    import bm25s

    terms = list(dict.fromkeys(tokens(query)))
    if not texts or not terms or k < 1:
        return []
    retriever = bm25s.BM25(k1=K1, b=B, method="lucene")
    retriever.index([tokens(t) or [""] for t in texts], show_progress=False)
    scores = np.asarray(retriever.get_scores(terms), dtype=np.float64)
    order = np.argsort(-scores, kind="stable")[:k]
    return [(int(i), float(scores[i] / (scores[i] + 1.0))) for i in order if scores[i] > 0]
