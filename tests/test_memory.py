"""Behaviour of HybridMemory, run on every mode against real servers."""

from __future__ import annotations

import math
import uuid
from datetime import datetime, timedelta, timezone

import pytest

from agentmem import (
    DimensionMismatch,
    HybridMemory,
    InvalidFilter,
    InvalidInput,
    Memory,
    MemoryType,
    NotFound,
)
from tests.filter_cases import BAD_FILTERS, CASES, DOCS, IMPORTANCE


def test_round_trip_every_field(memory: HybridMemory, agent_id: str) -> None:
    created = datetime(2024, 5, 6, 7, 8, 9, 123456, tzinfo=timezone.utc)
    expires = datetime.now(timezone.utc) + timedelta(days=3)
    meta = {"topic": "ml", "n": 3, "ratio": 0.25, "ok": True, "tags": ["a", "b"],
            "nested": {"x": [1, {"y": None}]}, "unicode": "héllo 🌍"}
    m = Memory(content="The user prefers dark mode", agent_id=agent_id,
               memory_type=MemoryType.SEMANTIC, user_id="u-1", session_id="s-1",
               importance=0.83, metadata=meta, created_at=created, updated_at=created,
               expires_at=expires, source_ids=["m1", "m2"])
    memory.remember_many([m])
    got = memory.get(m.id, agent_id)
    assert got == m
    assert isinstance(got.metadata["n"], int)
    hits = memory.recall("dark mode preference", agent_id, k=1)
    assert [h.memory for h in hits] == [m]
    assert 0 < hits[0].score <= 1


def test_remember_defaults_and_recall_ranks_closest_first(memory: HybridMemory,
                                                          agent_id: str) -> None:
    a = memory.remember("the user loves hiking in the alps", agent_id)
    memory.remember("quarterly tax report is due in april", agent_id)
    memory.remember("python list comprehension syntax", agent_id, memory_type="procedural")
    assert a.memory_type is MemoryType.EPISODIC and a.importance == 0.5
    hits = memory.recall("hiking alps trip", agent_id, k=3)
    assert hits[0].memory.id == a.id
    assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)
    only = memory.recall("python", agent_id, memory_types=["procedural"], k=5)
    assert [h.memory.memory_type for h in only] == [MemoryType.PROCEDURAL]


def test_upsert_is_idempotent(memory: HybridMemory, agent_id: str) -> None:
    for _ in range(3):
        memory.remember("same fact", agent_id, id="fact-1", memory_type="semantic")
    memory.remember("changed fact", agent_id, id="fact-1", memory_type="semantic")
    assert memory.stats(agent_id).total == 1
    assert memory.get("fact-1", agent_id).content == "changed fact"
    # An id changing type moves, never duplicates.
    memory.remember("changed fact", agent_id, id="fact-1", memory_type="procedural")
    stats = memory.stats(agent_id)
    assert stats.total == 1 and stats.by_type["procedural"] == 1
    assert [h.memory.id for h in memory.recall("changed fact", agent_id, k=5)] == ["fact-1"]


def test_update_reembeds_and_keeps_created_at(memory: HybridMemory, agent_id: str) -> None:
    m = memory.remember("meeting with alice on monday", agent_id)
    memory.remember("grocery list eggs milk", agent_id)
    new = memory.update(m.id, agent_id, content="dinner with bob on friday", importance=0.9)
    assert new.created_at == m.created_at and new.updated_at > m.updated_at
    assert memory.get(m.id, agent_id).content == "dinner with bob on friday"
    assert memory.recall("dinner bob friday", agent_id, k=1)[0].memory.id == m.id
    with pytest.raises(NotFound):
        memory.update("missing", agent_id, importance=0.1)


def test_forget_by_id_and_filter(memory: HybridMemory, agent_id: str) -> None:
    keep = memory.remember("keep me", agent_id, metadata={"t": "keep"})
    drop = [memory.remember(f"drop {i}", agent_id, metadata={"t": "drop"}) for i in range(3)]
    assert memory.forget(drop[0].id, agent_id) == 1
    assert memory.forget(drop[0].id, agent_id) == 0
    with pytest.raises(NotFound):
        memory.get(drop[0].id, agent_id)
    assert memory.forget(agent_id=agent_id, filter={"t": "drop"}) == 2
    assert [m.id for m in memory.memories(agent_id)] == [keep.id]
    assert [h.memory.id for h in memory.recall("drop", agent_id, k=5)] == [keep.id]
    with pytest.raises(InvalidInput):
        memory.forget(agent_id=agent_id)  # no scope at all is refused, not "delete all"


@pytest.mark.parametrize("name,flt,expected", CASES, ids=[c[0] for c in CASES])
def test_filter_cases(memory: HybridMemory, agent_id: str, name: str, flt: dict[str, object],
                      expected: set[str]) -> None:
    memory.remember_many([
        Memory(id=key, content=f"document {key} about things", agent_id=agent_id,
               metadata=meta, importance=IMPORTANCE[key])
        for key, meta in DOCS.items()
    ])
    assert {m.id for m in memory.memories(agent_id, filter=flt)} == expected
    assert {h.memory.id for h in memory.recall("document", agent_id, k=10, filter=flt)} == expected


@pytest.mark.parametrize("flt", BAD_FILTERS, ids=str)
def test_bad_filters_raise(memory: HybridMemory, agent_id: str, flt: dict[str, object]) -> None:
    with pytest.raises(InvalidFilter):
        memory.recall("anything", agent_id, filter=flt)


def test_column_filters_on_time_and_ids(memory: HybridMemory, agent_id: str) -> None:
    old = datetime(2020, 1, 1, tzinfo=timezone.utc)
    memory.remember_many([
        Memory(id="old", content="old memory", agent_id=agent_id, created_at=old,
               updated_at=old, user_id="u1"),
        Memory(id="new", content="new memory", agent_id=agent_id, session_id="s9"),
    ])
    cut = datetime(2021, 1, 1, tzinfo=timezone.utc)
    assert [m.id for m in memory.memories(agent_id, filter={"created_at": {"$lt": cut}})] == ["old"]
    assert [m.id for m in memory.memories(agent_id, filter={"user_id": "u1"})] == ["old"]
    assert [m.id for m in memory.memories(agent_id, filter={"user_id": {"$ne": "u1"}})] == ["new"]
    assert [m.id for m in memory.memories(agent_id, filter={"session_id": {"$in": ["s9"]}})] == [
        "new"]
    assert [m.id for m in memory.memories(agent_id, filter={"id": {"$nin": ["new"]}})] == ["old"]


def test_tenants_never_see_each_other(memory: HybridMemory) -> None:
    a, b = f"a-{uuid.uuid4().hex[:8]}", f"b-{uuid.uuid4().hex[:8]}"
    secret = memory.remember("alice's bank pin is 1234", a, id="shared-id")
    memory.remember("bob likes tea", b)
    memory.add_turn("same-session", a, "user", "a private message")
    assert all(h.memory.agent_id == b for h in memory.recall("bank pin", b, k=10))
    assert memory.get_many([secret.id], b) == []
    with pytest.raises(NotFound):
        memory.get(secret.id, b)
    assert memory.history("same-session", b) == []
    assert memory.forget(secret.id, b) == 0
    # the same id under another agent is another memory
    memory.remember("bob's own memory", b, id="shared-id")
    assert memory.get("shared-id", a).content == "alice's bank pin is 1234"
    assert memory.stats(b).total == 2 and memory.stats(a).total == 1


def test_expired_memories_are_not_recalled(memory: HybridMemory, agent_id: str) -> None:
    past = datetime.now(timezone.utc) - timedelta(seconds=1)
    gone = memory.remember("stale working memory", agent_id, expires_at=past)
    live = memory.remember("stale but still valid", agent_id)
    assert [h.memory.id for h in memory.recall("stale", agent_id, k=5)] == [live.id]
    with pytest.raises(NotFound):  # expired: gone from every read, before any cleanup
        memory.get(gone.id, agent_id)
    with pytest.raises(NotFound):
        memory.update(gone.id, agent_id, importance=0.9)
    assert [m.id for m in memory.memories(agent_id)] == [live.id]
    assert memory.stats(agent_id).total == 1


def test_bad_input_raises_typed_errors(memory: HybridMemory, agent_id: str) -> None:
    with pytest.raises(InvalidInput, match="content"):
        memory.remember("   ", agent_id)
    with pytest.raises(InvalidInput, match="memory type"):
        memory.recall("q", agent_id, memory_types=["dreams"])
    with pytest.raises(InvalidInput, match="k must be"):
        memory.recall("q", agent_id, k=0)
    with pytest.raises(InvalidInput, match="query"):
        memory.recall("", agent_id)
    with pytest.raises(InvalidInput, match="importance"):
        memory.remember("x", agent_id, importance=1.5)
    with pytest.raises(InvalidInput, match="timezone"):
        memory.remember("x", agent_id, expires_at=datetime(2030, 1, 1))
    with pytest.raises(InvalidInput, match="agent_id"):
        memory.recall("q", "")
    with pytest.raises(InvalidInput, match="metadata"):
        memory.remember("x", agent_id, metadata={"f": float("nan")})
    with pytest.raises(DimensionMismatch, match="dimension 3"):
        memory.remember("x", agent_id, embedding=[0.1, 0.2, 0.3])
    with pytest.raises(DimensionMismatch):
        memory.recall_by_vector([1.0, 0.0], agent_id)
    assert memory.stats(agent_id).total == 0


def test_batch_is_all_or_nothing(memory: HybridMemory, agent_id: str) -> None:
    good = [Memory(content=f"fact {i}", agent_id=agent_id) for i in range(5)]
    with pytest.raises(InvalidInput):
        memory.remember_many(good, embeddings=[[0.1] * 64] * 4 + [[float("nan")] * 64])
    assert memory.stats(agent_id).total == 0
    memory.remember_many(good)
    assert memory.stats(agent_id).total == 5


def test_chat_history_order_limit_isolation(memory: HybridMemory, agent_id: str) -> None:
    for i in range(12):
        memory.add_turn("s1", agent_id, "user" if i % 2 == 0 else "assistant", f"msg {i}",
                        extra={"i": i, "tool_calls": [{"name": "f", "args": {"x": i}}]})
    memory.add_turn("s2", agent_id, "user", "other session")
    turns = memory.history("s1", agent_id)
    assert [t.content for t in turns] == [f"msg {i}" for i in range(12)]
    assert turns[3].extra == {"i": 3, "tool_calls": [{"name": "f", "args": {"x": 3}}]}
    assert [t.content for t in memory.history("s1", agent_id, limit=3)] == [
        "msg 9", "msg 10", "msg 11"]
    assert memory.history("s1", "someone-else") == []
    stats = memory.stats(agent_id)
    assert (stats.turns, stats.sessions) == (13, 2)
    assert memory.clear_history("s1", agent_id) == 12
    assert memory.history("s1", agent_id) == []
    assert [t.content for t in memory.history("s2", agent_id)] == ["other session"]


async def test_async_twins(memory: HybridMemory, agent_id: str) -> None:
    m = await memory.aremember("async memories work too", agent_id, memory_type="semantic")
    assert (await memory.aget(m.id, agent_id)) == m
    hits = await memory.arecall("async memories", agent_id, k=1)
    assert hits[0].memory.id == m.id
    await memory.aadd_turn("s", agent_id, "user", "hello")
    assert [t.content for t in await memory.ahistory("s", agent_id)] == ["hello"]
    assert (await memory.astats(agent_id)).total == 1
    assert await memory.aforget(m.id, agent_id) == 1
    assert await memory.amemories(agent_id) == []


def test_memories_pages_oldest_first(memory: HybridMemory, agent_id: str) -> None:
    base = datetime(2024, 1, 1, tzinfo=timezone.utc)
    memory.remember_many([
        Memory(id=f"m{i}", content=f"item {i}", agent_id=agent_id,
               created_at=base + timedelta(minutes=i), updated_at=base)
        for i in (3, 1, 4, 0, 2)
    ])
    assert [m.id for m in memory.memories(agent_id)] == ["m0", "m1", "m2", "m3", "m4"]
    assert [m.id for m in memory.memories(agent_id, limit=2, offset=2)] == ["m2", "m3"]


def test_mmr_prefers_diverse_memories(memory: HybridMemory, agent_id: str) -> None:
    from agentmem import MMR

    dup = [memory.remember("python list comprehension tutorial", agent_id, id=f"dup{i}")
           for i in range(3)]
    other = memory.remember("python decorators explained", agent_id, id="other")
    plain = memory.recall("python list comprehension", agent_id, k=2)
    assert {h.memory.id for h in plain} <= {d.id for d in dup}
    diverse = memory.recall("python list comprehension", agent_id, k=2,
                            mmr=MMR(fetch_k=10, lambda_mult=0.3))
    assert diverse[0].memory.id in {d.id for d in dup}
    assert diverse[1].memory.id == other.id
    assert all(h.vector is None for h in diverse)


def reference_mmr(relevance: list[float], vectors: list[list[float]], k: int,
                  lambda_mult: float) -> list[int]:
    """MMR written out from its definition: redundancy is the cosine between candidates."""
    def cos(a: list[float], b: list[float]) -> float:
        return sum(x * y for x, y in zip(a, b)) / (
            math.sqrt(sum(x * x for x in a)) * math.sqrt(sum(y * y for y in b)))

    chosen: list[int] = []
    while len(chosen) < min(k, len(vectors)):
        def gain(i: int) -> float:
            redundancy = max((cos(vectors[i], vectors[j]) for j in chosen), default=0.0)
            return lambda_mult * relevance[i] - (1 - lambda_mult) * redundancy
        chosen.append(max((i for i in range(len(vectors)) if i not in chosen), key=gain))
    return chosen


def test_dense_mmr_is_classic_mmr_over_the_nearest(memory: HybridMemory, agent_id: str) -> None:
    """With lexical_weight=0, relevance is the cosine to the query vector, as it always was."""
    from agentmem import MMR

    texts = ["python list comprehension tutorial", "python list comprehension tutorial again",
             "python list comprehensions", "python decorators explained",
             "list of groceries", "a tutorial on knitting"]
    memory.remember_many([Memory(id=f"t{i}", content=t, agent_id=agent_id)
                          for i, t in enumerate(texts)])
    query = memory.embedder.embed_query("python list comprehension")
    nearest = memory.recall("python list comprehension", agent_id, k=5, lexical_weight=0)
    vectors = memory.embedder.embed_documents([h.memory.content for h in nearest])
    cosines = [sum(q * v for q, v in zip(query, vec)) for vec in vectors]  # unit vectors
    expected = [nearest[i].memory.id for i in reference_mmr(cosines, vectors, 3, 0.3)]
    got = memory.recall("python list comprehension", agent_id, k=3,
                        mmr=MMR(fetch_k=5, lambda_mult=0.3), lexical_weight=0)
    assert [h.memory.id for h in got] == expected
    scores = {h.memory.id: h.score for h in nearest}
    assert [h.score for h in got] == pytest.approx([scores[h.memory.id] for h in got], abs=1e-6)


def _checkout_store(memory: HybridMemory, agent_id: str) -> None:
    """Three identical memories, more checkout errors than a fusion fetches, and a ticket
    only its code ties to the query (no dense candidate finds it)."""
    from agentmem.retrieval import FUSION_DEPTH

    memory.remember_many(
        [Memory(id=f"page{i:03d}", content=f"checkout error page {i}", agent_id=agent_id)
         for i in range(FUSION_DEPTH + 10)]
        + [Memory(id=f"same{i}", content="checkout error XJ page", agent_id=agent_id)
           for i in range(3)]
        + [Memory(id="ticket", content="ticket XJ-4471 closed by support", agent_id=agent_id)])


def test_mmr_reranks_the_fused_candidates(memory: HybridMemory, agent_id: str) -> None:
    from agentmem import MMR
    from agentmem.retrieval import FUSION_DEPTH

    _checkout_store(memory, agent_id)
    query = "checkout error XJ-4471"
    dense = memory.recall(query, agent_id, k=FUSION_DEPTH, lexical_weight=0)
    assert "ticket" not in {h.memory.id for h in dense}  # only the lexical search finds it
    fused = memory.recall(query, agent_id, k=20)
    assert {h.memory.id for h in fused[:3]} == {"same0", "same1", "same2"}
    diverse = memory.recall(query, agent_id, k=3, mmr=MMR(fetch_k=20, lambda_mult=0.3))
    ids = [h.memory.id for h in diverse]
    assert len(ids) == 3 and ids[0] == "same0" and "ticket" in ids
    assert sum(i.startswith("same") for i in ids) == 1  # one of the identical three, not all
    vectors = memory.embedder.embed_documents([h.memory.content for h in fused])
    expected = reference_mmr([h.score for h in fused], vectors, 3, 0.3)
    assert ids == [fused[i].memory.id for i in expected]
    # each hit keeps its fused score; vectors are not handed out
    by_id = {h.memory.id: h.score for h in fused}
    assert [h.score for h in diverse] == pytest.approx([by_id[i] for i in ids], abs=1e-9)
    assert all(h.vector is None for h in diverse)
    # lambda 1.0 is pure relevance: the fused order
    assert [h.memory.id for h in memory.recall(query, agent_id, k=3, mmr=MMR(lambda_mult=1.0))] \
        == [h.memory.id for h in fused[:3]]


def test_mmr_takes_an_explicit_lexical_weight(memory: HybridMemory, agent_id: str) -> None:
    from agentmem import MMR

    _checkout_store(memory, agent_id)
    query = "checkout error XJ-4471"
    mmr = MMR(fetch_k=20, lambda_mult=0.3)
    lexical = memory.recall(query, agent_id, k=4, mmr=mmr, lexical_weight=0.9)
    assert len(lexical) == 4 and "ticket" in {h.memory.id for h in lexical}
    dense = memory.recall(query, agent_id, k=4, mmr=mmr, lexical_weight=0)
    assert "ticket" not in {h.memory.id for h in dense} and len(dense) == 4
    vector = memory.embedder.embed_query(query)
    by_vector = memory.recall_by_vector(vector, agent_id, k=4, mmr=mmr, lexical_query=query,
                                        lexical_weight=0.9)
    assert [h.memory.id for h in by_vector] == [h.memory.id for h in lexical]
    no_words = memory.recall_by_vector(vector, agent_id, k=4, mmr=mmr)  # dense: no words
    assert [h.memory.id for h in no_words] == [h.memory.id for h in dense]


def test_search_text_finds_shared_words_only(memory: HybridMemory, agent_id: str) -> None:
    a = memory.remember("The invoice for ACME was paid in March", agent_id, metadata={"t": 1})
    b = memory.remember("ACME invoice overdue, ACME invoice disputed", agent_id, metadata={"t": 2})
    memory.remember("Grandma's apple pie recipe", agent_id)
    memory.remember("acme invoice of someone else", "another-agent")
    hits = memory.search_text("acme invoices", agent_id, k=5)
    assert {h.memory.id for h in hits} == {a.id, b.id}
    assert all(0 < h.score < 1 for h in hits)
    assert [h.memory.id for h in memory.search_text("acme", agent_id, filter={"t": 1})] == [a.id]
    assert memory.search_text("zeppelin", agent_id) == []


def test_recall_fuses_lexical_and_dense(memory: HybridMemory, agent_id: str) -> None:
    code = memory.remember("error code XJ-4471 on checkout", agent_id)
    for i in range(6):
        memory.remember(f"checkout page error number {i} explained", agent_id)
    fused = memory.recall("XJ-4471", agent_id, k=3, lexical_weight=0.7)
    assert fused[0].memory.id == code.id and len(fused) == 3
    with pytest.raises(InvalidInput):
        memory.recall("q", agent_id, lexical_weight=1.5)


def test_default_recall_is_fused_prefix_stable_and_monotonic(memory: HybridMemory,
                                                             agent_id: str) -> None:
    """The defaults fuse BM25 in (a rare word wins), over a depth independent of k."""
    code = memory.remember("error code XJ-4471 on checkout", agent_id)
    memory.remember_many([Memory(content=f"checkout page error number {i} explained, part {i % 3}",
                                 agent_id=agent_id) for i in range(30)])
    dense = memory.recall("why did XJ-4471 happen", agent_id, k=30, lexical_weight=0)
    fused = memory.recall("why did XJ-4471 happen", agent_id, k=30)
    assert fused[0].memory.id == code.id and len(dense) == len(fused) == 30
    scores = [h.score for h in fused]
    assert scores == sorted(scores, reverse=True) and all(0 <= s <= 1 for s in scores)
    for k in (1, 5, 12):
        assert [h.memory.id for h in memory.recall("why did XJ-4471 happen", agent_id, k=k)] == [
            h.memory.id for h in fused[:k]]


def test_replace_history_and_sessions(memory: HybridMemory, agent_id: str) -> None:
    from agentmem import ChatTurn

    for sid in ("first", "second"):
        for i in range(3):
            memory.add_turn(sid, agent_id, "user", f"{sid} {i}")
    memory.add_turn("elsewhere", "other-agent", "user", "not mine")
    assert memory.sessions(agent_id) == ["first", "second"]
    kept = [t for t in memory.history("first", agent_id) if t.content != "first 1"]
    kept.insert(0, ChatTurn(session_id="first", agent_id=agent_id, role="system", content="sys"))
    memory.replace_history("first", agent_id, kept)
    assert [t.content for t in memory.history("first", agent_id)] == ["sys", "first 0", "first 2"]
    assert [t.content for t in memory.history("second", agent_id)] == [
        "second 0", "second 1", "second 2"]
    memory.replace_history("second", agent_id, [])
    assert memory.sessions(agent_id) == ["first"]
    with pytest.raises(InvalidInput):
        memory.replace_history("first", agent_id, [
            ChatTurn(session_id="second", agent_id=agent_id, role="user", content="x")])


def test_fusion_with_a_ready_vector_takes_words_from_lexical_query(
        memory: HybridMemory, agent_id: str) -> None:
    code = memory.remember("error code XJ-4471 on checkout", agent_id)
    other = memory.remember("a note about gardening and tomatoes", agent_id)
    # the vector points at the gardening note; the words point at the error code
    vector = memory.embedder.embed_query("gardening tomatoes")
    dense = memory.recall_by_vector(vector, agent_id, k=1)
    fused = memory.recall_by_vector(vector, agent_id, k=2, lexical_query="XJ-4471",
                                    lexical_weight=0.9)
    assert dense[0].memory.id == other.id
    assert fused[0].memory.id == code.id
    with pytest.raises(InvalidInput):
        memory.recall_by_vector(vector, agent_id, lexical_weight=0.5)  # no words to match


def test_recall_is_full_when_the_nearest_memories_have_expired(memory: HybridMemory,
                                                               agent_id: str) -> None:
    past = datetime.now(timezone.utc) - timedelta(seconds=1)
    memory.remember_many([Memory(content=f"alpha beta {i}", agent_id=agent_id, expires_at=past)
                          for i in range(6)])
    live = memory.remember_many([Memory(content=f"alpha gamma {i}", agent_id=agent_id)
                                 for i in range(3)])
    got = memory.recall("alpha beta", agent_id, k=3)
    assert {h.memory.id for h in got} == {m.id for m in live}
