"""Pure retrieval policies: MMR selection, lexical scoring, rank fusion."""

from __future__ import annotations

import math

import pytest

from agentmem import MMR, InvalidInput
from agentmem.retrieval import bm25_top, fuse_scores, mmr_select
from agentmem.retrieval.lexical import analyze, squash, tsvector_text


def test_mmr_picks_relevant_then_diverse() -> None:
    candidates = [[1.0, 0.0], [0.99, 0.01], [0.7, 0.7]]
    relevance = [0.9, 0.8, 0.5]  # given scores, not recomputed from a query vector
    assert mmr_select(relevance, candidates, 2, lambda_mult=1.0) == [0, 1]
    assert mmr_select(relevance, candidates, 2, lambda_mult=0.3) == [0, 2]
    assert mmr_select(relevance, candidates, 5, lambda_mult=0.3) == [0, 2, 1]
    # the scores decide relevance: the most relevant by score comes first whatever its vector
    assert mmr_select([0.1, 0.2, 0.9], candidates, 1, lambda_mult=0.5) == [2]
    assert mmr_select([], [], 3, 0.5) == []
    with pytest.raises(InvalidInput, match="one vector per score"):
        mmr_select([0.5, 0.4], [[1.0, 0.0]], 1, 0.5)
    with pytest.raises(InvalidInput):
        MMR(fetch_k=0)
    with pytest.raises(InvalidInput):
        MMR(lambda_mult=1.5)


def reference_bm25(query: str, texts: list[str], k1: float = 1.2, b: float = 0.75) -> list[float]:
    """Lucene's BM25, written out from its definition, squashed by s / (s + 1).

    The corpus is the texts with any index term (one of only stopwords is not in it)."""
    docs = [analyze(t) for t in texts]
    corpus = [d for d in docs if d]
    avg = sum(map(len, corpus)) / len(corpus)
    out = []
    for d in docs:
        s = 0.0
        for term in set(analyze(query)):
            df = sum(term in other for other in corpus)
            tf = d.count(term)
            if tf:
                idf = math.log(1 + (len(corpus) - df + 0.5) / (df + 0.5))
                s += idf * tf / (tf + k1 * (1 - b + b * len(d) / avg))
        out.append(s / (s + 1))
    return out


BM25_TEXTS = ["the cat sat on the mat", "the dog sat", "the cat and the cat", "nothing here",
              "a dog and a cat", "Cats are not cat", "I am", "self-care: biking, bikes",
              "Is it 'self' care?"]


def test_bm25_matches_the_reference_definition() -> None:
    texts = BM25_TEXTS
    for query in ("cat", "the dog", "sat mat", "zebra", "cat dog the", "self-care biking"):
        want = reference_bm25(query, texts)
        got = dict(bm25_top(query, texts, k=len(texts)))
        assert set(got) == {i for i, s in enumerate(want) if s > 0}
        for i, score in got.items():
            assert score == pytest.approx(want[i], rel=1e-5)
        ranked = [i for i, _ in bm25_top(query, texts, k=2)]
        assert ranked == sorted(got, key=lambda i: (-want[i], i))[:2]


def test_bm25_rewards_shared_and_rare_words() -> None:
    texts = ["the cat sat", "the dog sat", "the cat and the cat", "nothing here"]
    scores = dict(bm25_top("cat", texts, k=4))
    assert set(scores) == {0, 2} and scores[2] > scores[0] > 0
    assert all(s < 1 for s in scores.values())
    # "the" is everywhere, so it counts for almost nothing next to "dog"
    assert bm25_top("the dog", texts, k=1)[0][0] == 1
    assert bm25_top("", texts, k=3) == [] and bm25_top("cat", [], k=3) == []


def test_fusion_blends_rescaled_scores_into_one_descending_score() -> None:
    dense = [("a", 0.9), ("b", 0.8), ("c", 0.5)]
    lexical = [("c", squash(3.0)), ("d", squash(1.5))]  # as search_text reports BM25 3 and 1.5
    assert [k for k, _ in fuse_scores(dense, lexical, 0.0)][:3] == ["a", "b", "c"]
    assert [k for k, _ in fuse_scores(dense, lexical, 1.0)][:2] == ["c", "d"]
    fused = fuse_scores(dense, lexical, 0.5)
    # dense: cosine clipped to [0, 1]; lexical: raw BM25 over the best (c 1.0, d 0.5)
    assert dict(fused) == pytest.approx({"a": 0.45, "b": 0.4, "c": 0.75, "d": 0.25})
    assert [k for k, _ in fused] == ["c", "a", "b", "d"]
    assert [k for k, _ in fuse_scores([("b", 0.5), ("a", 0.5)], [], 0.2)] == ["a", "b"]  # ties by id
    scores = [s for _, s in fused]
    assert scores == sorted(scores, reverse=True) and all(0 <= s <= 1 for s in scores)
    assert fuse_scores([], [], 0.5) == [] and fuse_scores([("x", -0.2)], [], 0.3) == [("x", 0.0)]


def test_analyzer_splits_stems_and_drops_function_words() -> None:
    assert analyze("When did Caroline's self-care 'biking' trips happen?") == [
        "carolin", "self", "care", "bike", "trip", "happen"]
    assert analyze("What is it?") == [] and analyze("") == []
    assert tsvector_text(analyze("cats sat, cat mat")) == "'cat':1,3 'sat':2 'mat':4"

