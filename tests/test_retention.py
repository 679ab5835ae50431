"""Tiers, retention and cleanup on every backend."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from agentmem import ConfigError, HybridMemory, InvalidInput, Memory, MemoryTier, MemoryType
from agentmem.lifecycle import RetentionPolicy

PAST = datetime.now(timezone.utc) - timedelta(minutes=5)


def test_tiers_come_from_importance_unless_given() -> None:
    policy = RetentionPolicy()
    assert [policy.tier_for(i) for i in (0.95, 0.9, 0.7, 0.5, 0.39)] == [
        MemoryTier.PERMANENT, MemoryTier.PERMANENT, MemoryTier.LONG_TERM,
        MemoryTier.SHORT_TERM, MemoryTier.WORKING]
    now = datetime(2025, 1, 1, tzinfo=timezone.utc)
    assert policy.expiry(MemoryTier.WORKING, now) == now + timedelta(hours=1)
    assert policy.expiry(MemoryTier.SHORT_TERM, now) == now + timedelta(days=7)
    assert policy.expiry(MemoryTier.LONG_TERM, now) == now + timedelta(days=365)
    assert policy.expiry(MemoryTier.PERMANENT, now) is None
    m = policy.apply(Memory(content="x", agent_id="a", importance=0.2), now)
    assert (m.tier, m.expires_at) == (MemoryTier.WORKING, now + timedelta(hours=1))
    chosen = policy.apply(Memory(content="x", agent_id="a", importance=0.2,
                                 tier=MemoryTier.LONG_TERM), now)
    assert chosen.expires_at == now + timedelta(days=365)
    own = policy.apply(Memory(content="x", agent_id="a", expires_at=now), now)
    assert own.expires_at == now  # an explicit expiry wins


@pytest.mark.parametrize("bad", [
    {"thresholds": [(0.4, MemoryTier.SHORT_TERM), (0.9, MemoryTier.PERMANENT)]},
    {"ttl": {MemoryTier.WORKING: timedelta(hours=1)}},
    {"ttl": {t: timedelta(0) for t in MemoryTier}},
])
def test_policy_rejects_bad_values(bad: dict[str, object]) -> None:
    with pytest.raises(ConfigError):
        RetentionPolicy(**bad)  # type: ignore[arg-type]


def test_without_a_policy_nothing_expires_but_tiers_are_kept(memory: HybridMemory,
                                                              agent_id: str) -> None:
    m = memory.remember("a working note", agent_id, importance=0.1)
    got = memory.get(m.id, agent_id)
    assert (got.tier, got.expires_at) == (MemoryTier.WORKING, None)
    up = memory.update(m.id, agent_id, importance=0.95)
    assert memory.get(up.id, agent_id).tier == MemoryTier.PERMANENT
    assert [x.id for x in memory.memories(agent_id, filter={"tier": "permanent"})] == [m.id]


def test_a_policy_sets_expiry_by_tier_on_write(memory: HybridMemory, agent_id: str) -> None:
    memory.retention = RetentionPolicy()
    before = datetime.now(timezone.utc)
    short = memory.remember("a passing remark", agent_id, importance=0.5)
    forever = memory.remember("the user's name is Ada", agent_id, importance=0.95)
    stored = memory.get(short.id, agent_id)
    assert stored.tier == MemoryTier.SHORT_TERM and stored.expires_at is not None
    assert before + timedelta(days=7) <= stored.expires_at <= datetime.now(timezone.utc) + timedelta(days=7)
    assert memory.get(forever.id, agent_id).expires_at is None
    promoted = memory.update(short.id, agent_id, importance=0.95)
    assert (promoted.tier, memory.get(short.id, agent_id).expires_at) == (MemoryTier.PERMANENT, None)


def test_refresh_on_access_restarts_the_ttl(memory: HybridMemory, agent_id: str) -> None:
    memory.retention = RetentionPolicy(refresh_on_access=True)
    m = memory.remember("scratch: the build is red", agent_id, importance=0.1,
                        expires_at=datetime.now(timezone.utc) + timedelta(minutes=1))
    hit = memory.recall("build red", agent_id, k=1)[0]
    assert hit.memory.id == m.id and hit.memory.expires_at is not None
    assert hit.memory.expires_at > datetime.now(timezone.utc) + timedelta(minutes=55)
    memory.retention = None
    stored = memory.get(m.id, agent_id)
    assert stored.expires_at is not None
    assert stored.expires_at > datetime.now(timezone.utc) + timedelta(minutes=55)


def seed_expired(memory: HybridMemory, agent_id: str) -> None:
    memory.remember_many([
        Memory(id="old-1", content="expired episode", agent_id=agent_id, expires_at=PAST),
        Memory(id="old-2", content="expired fact", agent_id=agent_id, expires_at=PAST,
               memory_type=MemoryType.SEMANTIC),
        Memory(id="old-3", content="expired episode too", agent_id=agent_id, expires_at=PAST),
        Memory(id="live", content="still here", agent_id=agent_id,
               expires_at=datetime.now(timezone.utc) + timedelta(days=1)),
        Memory(id="forever", content="never expires", agent_id=agent_id)])


def test_cleanup_counts_exactly_and_deletes_only_the_expired(memory: HybridMemory,
                                                             agent_id: str) -> None:
    seed_expired(memory, agent_id)
    seed_expired(memory, agent_id + "-b")
    dry = memory.cleanup(agent_id, dry_run=True)
    assert dry.by_agent == {agent_id: {"episodic": 2, "semantic": 1}} and dry.total == 3
    assert memory.cleanup(agent_id, dry_run=True).total == 3  # a dry run changes nothing
    done = memory.cleanup(agent_id, batch_size=2)
    assert done.by_agent == dry.by_agent and not done.dry_run
    assert memory.cleanup(agent_id).total == 0
    assert memory.cleanup(agent_id + "-b", dry_run=True).total == 3  # the other agent's wait
    assert sorted(m.id for m in memory.memories(agent_id)) == ["forever", "live"]
    everyone = memory.cleanup()  # every agent (of a store other tests share)
    assert everyone.by_agent[agent_id + "-b"] == {"episodic": 2, "semantic": 1}
    assert agent_id not in everyone.by_agent
    assert memory.cleanup(agent_id + "-b", dry_run=True).total == 0
    if memory.mode == "hybrid":
        memory.flush_index(agent_id)
        assert memory.stats(agent_id).pending_index == 0


def test_archive_keeps_what_it_removed(memory: HybridMemory, agent_id: str) -> None:
    seed_expired(memory, agent_id)
    report = memory.cleanup(agent_id, archive=True)
    assert report.archived and report.total == 3
    kept = memory.archived(agent_id)
    assert sorted(m.id for m in kept) == ["old-1", "old-2", "old-3"]
    assert {m.content for m in kept} == {"expired episode", "expired fact", "expired episode too"}
    assert sorted(m.id for m in memory.memories(agent_id)) == ["forever", "live"]
    assert memory.archived(agent_id + "-nobody") == []


def test_set_expiry_and_bad_values(memory: HybridMemory, agent_id: str) -> None:
    m = memory.remember("temporary", agent_id)
    assert memory.set_expiry(m.id, agent_id, PAST) == 1
    assert memory.memories(agent_id) == []
    assert memory.set_expiry(m.id, agent_id, None) == 0  # expired: not there any more
    with pytest.raises(InvalidInput, match="timezone"):
        memory.set_expiry(m.id, agent_id, datetime(2030, 1, 1))
    with pytest.raises(InvalidInput, match="batch_size"):
        memory.cleanup(agent_id, batch_size=0)
