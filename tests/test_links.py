"""Typed links between memories: storage, walks, tenant scoping, recall expansion."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from agentmem import (
    ConfigError,
    HybridMemory,
    InvalidInput,
    Memory,
    MemoryLink,
    NotFound,
)


def chain(memory: HybridMemory, agent_id: str, n: int = 4) -> list[Memory]:
    """n memories a0 -> a1 -> ... linked 'next'."""
    made = memory.remember_many([Memory(id=f"a{i}", content=f"memory {i} about rivers",
                                        agent_id=agent_id) for i in range(n)])
    for left, right in zip(made, made[1:]):
        memory.link(left.id, right.id, agent_id, relation="next")
    return made


@pytest.fixture(params=["pgvector", "hybrid"])
def linked(request: pytest.FixtureRequest, pg_url: str, chroma_url: str):  # type: ignore[no-untyped-def]
    from .conftest import make_memory

    m = make_memory(request.param, pg_url, chroma_url)
    yield m
    m.close()


def test_links_are_typed_idempotent_and_listed(linked: HybridMemory, agent_id: str) -> None:
    a, b = linked.remember_many([Memory(content="x", agent_id=agent_id),
                                 Memory(content="y", agent_id=agent_id)])
    got = linked.link(a.id, b.id, agent_id, relation="derived_from")
    assert isinstance(got, MemoryLink) and (got.source_id, got.target_id) == (a.id, b.id)
    linked.link(a.id, b.id, agent_id, relation="derived_from")  # again: still one link
    linked.link(a.id, b.id, agent_id)  # another relation: another link
    assert sorted(x.relation for x in linked.links(a.id, agent_id)) == ["derived_from", "related_to"]
    assert [x.relation for x in linked.links(b.id, agent_id)] == ["derived_from", "related_to"]
    assert linked.unlink(a.id, b.id, agent_id, relation="related_to") == 1
    assert [x.relation for x in linked.links(b.id, agent_id)] == ["derived_from"]


def test_related_walks_by_depth_and_direction(linked: HybridMemory, agent_id: str) -> None:
    a = chain(linked, agent_id, 4)
    one = linked.related(a[1].id, agent_id)
    assert {(r.memory.id, r.depth, r.outgoing) for r in one} == {("a0", 1, False), ("a2", 1, True)}
    assert [r.memory.id for r in linked.related("a0", agent_id, depth=3)] == ["a1", "a2", "a3"]
    assert [r.depth for r in linked.related("a0", agent_id, depth=3)] == [1, 2, 3]
    assert [r.via for r in linked.related("a0", agent_id, depth=3)] == ["a0", "a1", "a2"]
    assert [r.memory.id for r in linked.related("a2", agent_id, direction="out", depth=5)] == ["a3"]
    assert [r.memory.id for r in linked.related("a2", agent_id, direction="in", depth=5)] == [
        "a1", "a0"]
    assert linked.related("a0", agent_id, relation="derived_from") == []


def test_a_cycle_is_walked_once_per_memory(linked: HybridMemory, agent_id: str) -> None:
    chain(linked, agent_id, 3)
    linked.link("a2", "a0", agent_id, relation="next")
    found = linked.related("a0", agent_id, depth=10, direction="out")
    assert [(r.memory.id, r.depth) for r in found] == [("a1", 1), ("a2", 2)]


def test_links_never_cross_agents(linked: HybridMemory, agent_id: str) -> None:
    other = agent_id + "-other"
    chain(linked, agent_id, 2)
    linked.remember("their memory", other, id="theirs")
    with pytest.raises(NotFound, match="theirs"):
        linked.link("a0", "theirs", agent_id)
    with pytest.raises(NotFound):
        linked.link("theirs", "a0", other)  # a0 is not the other agent's
    linked.remember("same id, other agent", other, id="a1")
    assert linked.related("a1", other) == [] and linked.links("a0", other) == []
    assert [r.memory.content for r in linked.related("a0", agent_id)] == ["memory 1 about rivers"]


def test_deleting_or_expiring_an_end_drops_it_from_walks(linked: HybridMemory,
                                                         agent_id: str) -> None:
    chain(linked, agent_id, 3)
    linked.forget("a1", agent_id)
    assert linked.links("a0", agent_id) == [] and linked.related("a2", agent_id) == []
    past = datetime.now(timezone.utc) - timedelta(seconds=1)
    linked.link("a0", "a2", agent_id)
    linked.update("a2", agent_id, expires_at=past)
    assert linked.related("a0", agent_id) == []


def test_bad_links_raise_typed_errors(linked: HybridMemory, agent_id: str) -> None:
    a = linked.remember("x", agent_id)
    for relation in ("Bad Name", "", "1st", "x" * 65):
        with pytest.raises(InvalidInput, match="relation"):
            linked.link(a.id, "b", agent_id, relation=relation)
    with pytest.raises(InvalidInput, match="itself"):
        linked.link(a.id, a.id, agent_id)
    with pytest.raises(NotFound, match="nope"):
        linked.link(a.id, "nope", agent_id)
    with pytest.raises(InvalidInput, match="depth"):
        linked.related(a.id, agent_id, depth=0)
    with pytest.raises(InvalidInput, match="direction"):
        linked.related(a.id, agent_id, direction="sideways")  # type: ignore[arg-type]


def test_recall_can_bring_each_hits_related_memories(linked: HybridMemory,
                                                     agent_id: str) -> None:
    fact = linked.remember("Rivers flow into the sea", agent_id, memory_type="semantic")
    source = linked.remember("We watched the tide at the harbour", agent_id)
    linked.link(fact.id, source.id, agent_id, relation="derived_from")
    plain = linked.recall("rivers sea", agent_id, k=1)
    assert plain[0].memory.id == fact.id and plain[0].related == []
    hit = linked.recall("rivers sea", agent_id, k=1, expand_related=True)[0]
    assert [(r.memory.id, r.relation, r.outgoing) for r in hit.related] == [
        (source.id, "derived_from", True)]


def test_chroma_mode_says_links_need_postgres(hashing_memories: dict[str, object],
                                              agent_id: str) -> None:
    memory = hashing_memories["chroma"]
    assert isinstance(memory, HybridMemory)
    a = memory.remember("x", agent_id)
    with pytest.raises(ConfigError, match="PostgreSQL"):
        memory.link(a.id, a.id + "x", agent_id)
    with pytest.raises(ConfigError, match="expand_related"):
        memory.recall("x", agent_id, expand_related=True)


def test_links_survive_an_update_of_either_end(linked: HybridMemory, agent_id: str) -> None:
    chain(linked, agent_id, 2)
    linked.update("a0", agent_id, content="memory zero, rewritten")
    assert [r.memory.id for r in linked.related("a0", agent_id)] == ["a1"]
