"""Re-scoring of fused candidates: session context, recency, importance (pure functions)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from agentmem import ConfigError, Memory, RetrievalConfig
from agentmem.retrieval.signals import rescore

NOW = datetime(2025, 6, 1, tzinfo=timezone.utc)
ONLY_CONTEXT = RetrievalConfig(neighbour_weight=0.3, session_weight=0.0)


def turn(i: int, session: str | None = "s1", created_at: datetime | None = None,
         importance: float = 0.5) -> Memory:
    return Memory(id=f"t{i}", content=f"turn {i}", agent_id="a", session_id=session,
                  created_at=created_at or NOW - timedelta(days=1, seconds=-i),
                  importance=importance)


def ranked(memories: list[Memory], scores: list[float], config: RetrievalConfig) -> list[str]:
    out = rescore(memories, scores, config, NOW)
    assert all(0.0 <= s <= 1.0 for s in out)
    return [m.id for _, m in sorted(zip(out, memories, strict=True), key=lambda sm: (-sm[0], sm[1].id))]


def test_a_weak_turn_next_to_a_strong_one_outranks_an_isolated_weak_one() -> None:
    # t1 and t9 score alike; t1 sits beside t2, the best candidate; t9 is alone in its stretch
    memories = [turn(1), turn(2), turn(9, session="s2")]
    scores = [0.30, 0.90, 0.31]
    assert ranked(memories, scores, RetrievalConfig(neighbour_weight=0, session_weight=0)) == [
        "t2", "t9", "t1"]
    assert ranked(memories, scores, ONLY_CONTEXT) == ["t2", "t1", "t9"]


def test_neighbours_are_adjacent_candidates_of_the_same_session_only() -> None:
    # t3 is adjacent to the strong t4 in time, but in another session: no pull
    memories = [turn(3, session="other"), turn(4), turn(8, session="third")]
    scores = [0.30, 0.90, 0.31]
    assert ranked(memories, scores, ONLY_CONTEXT) == ["t4", "t8", "t3"]


def test_the_session_pull_lifts_every_turn_of_a_strong_session() -> None:
    memories = [turn(1), turn(5), turn(7, session="s2"), turn(20, session="s2")]
    scores = [0.95, 0.30, 0.40, 0.31]
    config = RetrievalConfig(neighbour_weight=0.0, session_weight=0.5)
    assert ranked(memories, scores, config) == ["t1", "t5", "t7", "t20"]


def test_a_memory_with_no_session_keeps_its_fused_score() -> None:
    memories = [turn(1, session=None), turn(2), turn(3)]
    out = rescore(memories, [0.6, 0.2, 0.9], RetrievalConfig(), NOW)
    assert out[0] == pytest.approx(0.6)
    assert out[1] > 0.2 * (1 + 0.3 + 0.3) / 1.6  # pulled up by its neighbour t3


def test_recency_and_importance_weights_rank_as_they_claim() -> None:
    old = turn(1, session=None, created_at=NOW - timedelta(days=300), importance=0.9)
    new = turn(2, session=None, created_at=NOW - timedelta(hours=1), importance=0.1)
    plain = RetrievalConfig(neighbour_weight=0, session_weight=0)
    assert ranked([old, new], [0.5, 0.5], plain) == ["t1", "t2"]  # a tie, by id
    assert ranked([old, new], [0.5, 0.5], RetrievalConfig(recency_weight=0.2)) == ["t2", "t1"]
    assert ranked([old, new], [0.5, 0.45], RetrievalConfig(importance_weight=0.2)) == ["t1", "t2"]
    assert ranked([old, new], [0.5, 0.45], RetrievalConfig(recency_weight=0.2)) == ["t2", "t1"]
    half = rescore([turn(3, session=None, created_at=NOW - timedelta(days=30))], [0.0],
                   RetrievalConfig(recency_weight=1.0, neighbour_weight=0, session_weight=0), NOW)
    assert half == [pytest.approx(0.25)]  # one half-life old: 0.5, averaged with the score 0


def test_no_weights_leave_the_fused_scores_as_they_are() -> None:
    config = RetrievalConfig(neighbour_weight=0, session_weight=0)
    assert not config.rescored
    assert rescore([turn(1), turn(2)], [0.4, 0.7], config, NOW) == [0.4, 0.7]


@pytest.mark.parametrize("change", [
    {"lexical_weight": 1.5}, {"neighbour_weight": -0.1}, {"session_weight": 2},
    {"recency_weight": float("nan")}, {"context_turns": -1}, {"context_turns": 1.5},
    {"recency_half_life": timedelta(0)},
])
def test_retrieval_config_rejects_bad_values(change: dict[str, object]) -> None:
    with pytest.raises(ConfigError, match=next(iter(change))):
        RetrievalConfig(**change)  # type: ignore[arg-type]
