"""Signals beyond the query's own words: session context, recency and importance.

A conversation's turns answer questions together: the turn a question is about often
shares few words with it while its neighbours do. So each fused candidate is pulled
toward the best candidate adjacent to it in time within the same session and toward the
best candidate of its session. A memory with no session is its own context (its score is
kept). The blend is a weighted mean, so the result stays in [0, 1]; it uses only the
candidate set, which is fetched to a fixed depth, so the top k never depend on k.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from ..models import Memory
from .config import RetrievalConfig

__all__ = ["rescore"]


def _context(memories: Sequence[Memory], scores: Sequence[float]) -> tuple[list[float], list[float]]:
    """(best adjacent, best in session) score of each candidate; its own with no session."""
    adjacent, session = list(scores), list(scores)
    by_session: dict[str, list[int]] = {}
    for i, m in enumerate(memories):
        if m.session_id is not None:
            by_session.setdefault(m.session_id, []).append(i)
    for members in by_session.values():
        members.sort(key=lambda i: (memories[i].created_at, memories[i].id))
        best = max(scores[i] for i in members)
        for pos, i in enumerate(members):
            around = [scores[members[p]] for p in (pos - 1, pos + 1) if 0 <= p < len(members)]
            adjacent[i] = max(around, default=0.0)
            session[i] = best
    return adjacent, session


def rescore(memories: Sequence[Memory], scores: Sequence[float], config: RetrievalConfig,
            now: datetime) -> list[float]:
    """Each candidate's fused score blended with its context, recency and importance."""
    if not config.rescored:
        return list(scores)
    adjacent, session = _context(memories, scores)
    half_life = config.recency_half_life.total_seconds()
    total = (1.0 + config.neighbour_weight + config.session_weight + config.recency_weight
             + config.importance_weight)
    out = []
    for m, s, a, b in zip(memories, scores, adjacent, session, strict=True):
        age = max(0.0, (now - m.created_at).total_seconds())
        value = (s + config.neighbour_weight * a + config.session_weight * b
                 + config.recency_weight * 0.5 ** (age / half_life)
                 + config.importance_weight * m.importance)
        out.append(value / total)
    return out
