"""Lexical relevance for stores without a full-text index of their own (Chroma).

PostgreSQL ranks with its ``tsvector`` index instead.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Sequence

__all__ = ["lexical_scores", "tokens"]

_TOKEN = re.compile(r"\w+", re.UNICODE)


def tokens(text: str) -> list[str]:
    return _TOKEN.findall(text.lower())


def lexical_scores(query: str, texts: Sequence[str]) -> list[float]:
    """BM25-style relevance of each text to ``query``, squashed into [0, 1); 0 = no shared term."""
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
