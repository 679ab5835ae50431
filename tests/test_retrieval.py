"""Pure retrieval policies: MMR selection, lexical scoring, rank fusion."""

from __future__ import annotations

import math

import pytest

from agentmem import MMR, InvalidInput
from agentmem.retrieval import bm25_top, fuse_ranks, mmr_select
from agentmem.retrieval.lexical import tokens


def test_mmr_picks_relevant_then_diverse() -> None:
    query = [1.0, 0.0]
    candidates = [[1.0, 0.0], [0.99, 0.01], [0.7, 0.7]]
    assert mmr_select(query, candidates, 2, lambda_mult=1.0) == [0, 1]
    assert mmr_select(query, candidates, 2, lambda_mult=0.3) == [0, 2]
    assert mmr_select(query, [], 3, 0.5) == []
    with pytest.raises(InvalidInput):
        MMR(fetch_k=0)
    with pytest.raises(InvalidInput):
        MMR(lambda_mult=1.5)


def reference_bm25(query: str, texts: list[str], k1: float = 1.2, b: float = 0.75) -> list[float]:
    """Lucene's BM25, written out from its definition, squashed by s / (s + 1)."""
    docs = [tokens(t) for t in texts]
    avg = sum(map(len, docs)) / len(docs)
    out = []
    for d in docs:
        s = 0.0
        for term in set(tokens(query)):
            df = sum(term in other for other in docs)
            tf = d.count(term)
            if tf:
                idf = math.log(1 + (len(docs) - df + 0.5) / (df + 0.5))
                s += idf * tf / (tf + k1 * (1 - b + b * len(d) / avg))
        out.append(s / (s + 1))
    return out


def test_bm25_matches_the_reference_definition() -> None:
    texts = ["the cat sat on the mat", "the dog sat", "the cat and the cat", "nothing here",
             "a dog and a cat", "Cats are not cat"]
    for query in ("cat", "the dog", "sat mat", "zebra", "cat dog the"):
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


def test_fuse_ranks_weights_each_list() -> None:
    dense, lexical = ["a", "b", "c"], ["c", "d"]
    assert fuse_ranks(dense, lexical, 0.0)[:3] == ["a", "b", "c"]
    assert fuse_ranks(dense, lexical, 1.0)[:2] == ["c", "d"]
    assert fuse_ranks(dense, lexical, 0.5)[0] == "c"  # found by both
