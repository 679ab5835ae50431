"""Pure retrieval policies: MMR selection, lexical scoring, rank fusion."""

from __future__ import annotations

import pytest

from agentmem import MMR, InvalidInput
from agentmem.retrieval import fuse_ranks, lexical_scores, mmr_select


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


def test_lexical_scores_reward_shared_and_rare_words() -> None:
    texts = ["the cat sat", "the dog sat", "the cat and the cat", "nothing here"]
    scores = lexical_scores("cat", texts)
    assert scores[1] == scores[3] == 0.0
    assert scores[2] > scores[0] > 0 and all(s < 1 for s in scores)
    # "the" is everywhere, so it counts for almost nothing next to "dog"
    s = lexical_scores("the dog", texts)
    assert s[1] == max(s)


def test_fuse_ranks_weights_each_list() -> None:
    dense, lexical = ["a", "b", "c"], ["c", "d"]
    assert fuse_ranks(dense, lexical, 0.0)[:3] == ["a", "b", "c"]
    assert fuse_ranks(dense, lexical, 1.0)[:2] == ["c", "d"]
    assert fuse_ranks(dense, lexical, 0.5)[0] == "c"  # found by both
