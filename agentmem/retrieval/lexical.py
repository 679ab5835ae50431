"""Lexical retrieval: one analyzer and one BM25 for every backend.

Both backends index the same terms, so a lexical search ranks alike on PostgreSQL and
Chroma: :func:`analyze` lower-cases, splits on anything that is not a letter or digit
(so "self-care" is "self" and "care", and quotes vanish), drops English function words
and stems with Snowball's English stemmer (PyStemmer). PostgreSQL stores those terms as a
``tsvector`` (see :func:`tsvector_text`) and scores BM25 in SQL; Chroma has no full-text
index, so its backend scores the agent's texts with bm25s here. Both use Lucene's BM25
(k1 1.2, b 0.75) and squash a score ``s`` into [0, 1) as ``s / (s + 1)``.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Sequence

import numpy as np

__all__ = ["B", "K1", "STOPWORDS", "analyze", "bm25_top", "squash", "tsvector_text"]

K1, B = 1.2, 0.75
_WORD = re.compile(r"[^\W_]+", re.UNICODE)
_MAX_POSITION = 16383  # PostgreSQL's largest tsvector position

# English function words: pronouns, auxiliaries, determiners, prepositions, conjunctions
# and question words. They carry no topic, and a question is mostly made of them.
STOPWORDS = frozenset("""
a about above after again against ain all am an and any are aren as at be because been before
being below between both but by can could couldn d did didn do does doesn doing don down during
each few for from further had hadn has hasn have haven having he her here hers herself him
himself his how i if in into is isn it its itself just ll m ma me mightn more most mustn my
myself needn no nor not now o of off on once only or other our ours ourselves out over own re s
same shan she should shouldn so some such t than that the their theirs them themselves then there
these they this those through to too under until up ve very was wasn we were weren what when
where which while who whom why will with won would wouldn y you your yours yourself yourselves
""".split())  # noqa: SIM905 - a word list reads better as text


@functools.lru_cache(maxsize=1)
def _stemmer() -> object:
    import Stemmer

    return Stemmer.Stemmer("english")


def analyze(text: str) -> list[str]:
    """The index terms of ``text``, in order (repeats kept: they are term frequencies)."""
    words = [w for w in _WORD.findall(text.lower()) if w not in STOPWORDS]
    return list(_stemmer().stemWords(words)) if words else []  # type: ignore[attr-defined]


def tsvector_text(terms: Sequence[str]) -> str:
    """``terms`` as a PostgreSQL ``tsvector`` literal with positions (``'cat':1,3 'sat':2``).

    Written out rather than parsed by ``to_tsvector`` so PostgreSQL's own parser cannot
    split a term differently. Terms are letters and digits only, so quoting is plain.
    """
    positions: dict[str, list[str]] = {}
    for pos, term in enumerate(terms[:_MAX_POSITION], start=1):
        positions.setdefault(term, []).append(str(pos))
    return " ".join(f"'{t}':{','.join(p)}" for t, p in positions.items())


def squash(score: float) -> float:
    """A BM25 score mapped into [0, 1), order kept."""
    return score / (score + 1.0)


def unsquash(score: float) -> float:
    """The BM25 score that :func:`squash` mapped to ``score``."""
    return score / (1.0 - score) if score < 1.0 else float("inf")


def bm25_top(query: str, texts: Sequence[str], k: int) -> list[tuple[int, float]]:
    """(index, squashed score) of the ``k`` texts most relevant to ``query``, best first.

    Texts sharing no term with the query are left out; ties keep the order of ``texts``.
    The corpus is the texts that have any index term (one of only stopwords is not part
    of it, on either backend). Costs O(N·T) per call: for stores without a full-text index.
    """
    import bm25s

    terms = list(dict.fromkeys(analyze(query)))
    docs = [(i, d) for i, d in enumerate(map(analyze, texts)) if d]
    if not docs or not terms or k < 1:
        return []
    retriever = bm25s.BM25(k1=K1, b=B, method="lucene")
    retriever.index([d for _, d in docs], show_progress=False)
    scores = np.asarray(retriever.get_scores(terms), dtype=np.float64)
    order = np.argsort(-scores, kind="stable")[:k]
    return [(docs[j][0], squash(float(scores[j]))) for j in order if scores[j] > 0]
