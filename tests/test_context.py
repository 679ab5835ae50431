"""Contextual indexing and session signals through the facade, on every backend."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from agentmem import HybridMemory, Memory, MemoryType, RetrievalConfig

T0 = datetime(2024, 5, 1, 12, tzinfo=timezone.utc)


def turns(agent_id: str, session: str, texts: list[str], start: int = 0,
          **kw: object) -> list[Memory]:
    return [Memory(id=f"{session}-{start + i}", content=text, agent_id=agent_id, session_id=session,
                   created_at=T0 + timedelta(seconds=start + i), **kw)  # type: ignore[arg-type]
            for i, text in enumerate(texts)]


CHAT = ["Do you still go hiking in the Alps?", "Yes, every single Sunday!",
        "Nice. I bought a new kayak", "Where do you paddle?", "Mostly on the lake"]


def test_an_answer_is_found_by_the_words_of_the_question_before_it(
        memory: HybridMemory, agent_id: str) -> None:
    memory.remember_many(turns(agent_id, "s", CHAT))
    found = [h.memory.id for h in memory.search_text("hiking alps", agent_id, k=5)]
    # the reply shares no word with the query; its context (the question) does
    assert set(found[:2]) == {"s-0", "s-1"}
    # two turns back is still context; three is not
    assert "s-2" in found and "s-3" not in found
    hit = memory.get("s-1", agent_id)
    assert hit.content == CHAT[1]  # the stored content is the memory's own


def test_context_is_the_same_written_one_by_one_or_in_one_batch(
        memory: HybridMemory, agent_id: str) -> None:
    other = agent_id + "-b"
    memory.remember_many(turns(agent_id, "s", CHAT))
    # in reverse order and one at a time: predecessors come from the store or the batch
    for m in reversed(turns(other, "s", CHAT)):
        memory.remember_many([m])
    for m in turns(other, "s", CHAT):
        memory.remember_many([m])  # again, now that every predecessor is stored
    for query in ("hiking alps", "kayak", "sunday paddle"):
        a = [(h.memory.id, round(h.score, 9)) for h in memory.search_text(query, agent_id, k=5)]
        b = [(h.memory.id, round(h.score, 9)) for h in memory.search_text(query, other, k=5)]
        assert a == b, query


def test_context_never_crosses_sessions_agents_or_types(memory: HybridMemory,
                                                        agent_id: str) -> None:
    memory.remember_many(turns(agent_id, "s1", ["We talked about zeppelins"]))
    memory.remember_many(turns(agent_id + "-other", "s2", ["zeppelins again"], start=1))
    memory.remember_many(turns(agent_id, "s2", ["zeppelins, a fact"], start=2,
                               memory_type=MemoryType.SEMANTIC))
    memory.remember_many(turns(agent_id, "s2", ["An unrelated reply"], start=3))
    memory.remember_many(turns(agent_id, "s1", ["A reply in the first session"], start=4))
    found = {h.memory.id for h in memory.search_text("zeppelins", agent_id, k=10)}
    assert found == {"s1-0", "s2-2", "s1-4"}


def test_context_turns_zero_indexes_own_words_only(memory: HybridMemory, agent_id: str) -> None:
    memory.retrieval = RetrievalConfig(context_turns=0)
    memory.remember_many(turns(agent_id, "s", CHAT))
    assert [h.memory.id for h in memory.search_text("hiking alps", agent_id, k=5)] == ["s-0"]


def test_default_recall_with_sessions_is_prefix_stable_and_monotonic(
        memory: HybridMemory, agent_id: str) -> None:
    for s in range(4):
        memory.remember_many(turns(agent_id, f"s{s}", [
            f"session {s} turn {i} about {'kayaks' if (s + i) % 3 == 0 else 'the weather'}"
            for i in range(8)], start=100 * s))
    full = memory.recall("kayaks on the lake", agent_id, k=32)
    scores = [h.score for h in full]
    assert len(full) == 32 and scores == sorted(scores, reverse=True)
    assert all(0 <= s <= 1 for s in scores)
    for k in (1, 3, 10):
        assert [h.memory.id for h in memory.recall("kayaks on the lake", agent_id, k=k)] == [
            h.memory.id for h in full[:k]]


def test_recall_within_a_time_range(memory: HybridMemory, agent_id: str) -> None:
    memory.remember_many(turns(agent_id, "s", ["kayak trip planned", "kayak trip done",
                                              "kayak trip photos"], start=0))
    memory.remember_many(turns(agent_id, "t", ["kayak trip next year"], start=3600))
    since = T0 + timedelta(seconds=1)
    until = T0 + timedelta(seconds=60)
    window = {"created_at": {"$gte": since, "$lt": until}}
    for lexical_weight in (None, 0.0):
        hits = memory.recall("kayak trip", agent_id, k=10, filter=window,
                             lexical_weight=lexical_weight)
        assert sorted(h.memory.id for h in hits) == ["s-1", "s-2"]
