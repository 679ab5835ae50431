"""Near-duplicate merging on write, on every backend."""

from __future__ import annotations

import pytest

from agentmem import ConfigError, HashingEmbedder, HybridMemory, Memory, MemoryType


def test_off_by_default_every_write_is_kept(memory: HybridMemory, agent_id: str) -> None:
    memory.remember("The user prefers dark mode", agent_id)
    memory.remember("The user prefers dark mode", agent_id)
    assert len(memory.memories(agent_id)) == 2


def test_a_near_duplicate_is_absorbed_by_the_stored_memory(memory: HybridMemory,
                                                           agent_id: str) -> None:
    memory.dedup_threshold = 0.95
    first = memory.remember("The user prefers dark mode", agent_id, importance=0.4,
                            metadata={"topic": "ui", "seen": 1})
    again = memory.remember("The user prefers dark mode!", agent_id, importance=0.8,
                            metadata={"seen": 2})
    assert again.id == first.id and again.content == first.content
    stored = memory.memories(agent_id)
    assert [m.id for m in stored] == [first.id]
    assert stored[0].importance == 0.8 and stored[0].metadata == {"topic": "ui", "seen": 2}
    other = memory.remember("The user lives in Lisbon", agent_id)  # not similar: kept
    assert other.id != first.id and len(memory.memories(agent_id)) == 2


def test_duplicates_within_one_batch_merge_and_map_back(memory: HybridMemory,
                                                        agent_id: str) -> None:
    memory.dedup_threshold = 0.95
    got = memory.remember_many([
        Memory(id="a", content="Deploys happen on Fridays", agent_id=agent_id, importance=0.3),
        Memory(id="b", content="Cats sleep a lot", agent_id=agent_id),
        Memory(id="c", content="Deploys happen on Fridays.", agent_id=agent_id, importance=0.9)])
    assert [m.id for m in got] == ["a", "b", "a"]
    assert sorted(m.id for m in memory.memories(agent_id)) == ["a", "b"]
    assert memory.get("a", agent_id).importance == 0.9


def test_duplicates_of_another_agent_or_type_are_not_merged(memory: HybridMemory,
                                                            agent_id: str) -> None:
    memory.dedup_threshold = 0.95
    memory.remember("Backups run nightly", agent_id)
    memory.remember("Backups run nightly", agent_id + "-b")
    memory.remember("Backups run nightly", agent_id, memory_type=MemoryType.SEMANTIC)
    assert len(memory.memories(agent_id)) == 2 and len(memory.memories(agent_id + "-b")) == 1


def test_updating_a_memory_never_merges_it_away(memory: HybridMemory, agent_id: str) -> None:
    memory.dedup_threshold = 0.95
    a = memory.remember("Alpha notes", agent_id)
    b = memory.remember("Beta notes entirely different", agent_id)
    memory.update(b.id, agent_id, content="Alpha notes")
    assert sorted(m.id for m in memory.memories(agent_id)) == sorted([a.id, b.id])


def test_threshold_is_checked() -> None:
    with pytest.raises(ConfigError, match="dedup_threshold"):
        HybridMemory(embedder=HashingEmbedder(8), dedup_threshold=1.5)
