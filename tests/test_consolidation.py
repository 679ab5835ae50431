"""Consolidation on every backend: grouping, provenance, source policy, idempotency."""

from __future__ import annotations

from datetime import timedelta

import numpy as np
import pytest

from agentmem import ConfigError, HybridMemory, Memory, MemoryType
from agentmem.lifecycle import ConsolidationPolicy, ExtractiveSummarizer, LLMSummarizer
from agentmem.lifecycle.consolidation import MARK, group

PYTHON = ["The user asked how to write Python decorators",
          "The user asked again how to write Python decorators",
          "User asked how Python decorators are written"]
LISBON = ["The user booked a flight to Lisbon for May", "The user booked another flight to Lisbon",
          "User booked a flight to Lisbon in June"]
POLICY = ConsolidationPolicy(similarity=0.6, min_group=3)


def seed(memory: HybridMemory, agent_id: str) -> None:
    texts = [*PYTHON, *LISBON, "Grandma sent a cake recipe", "The user asked about Lisbon trams"]
    memory.remember_many([Memory(id=f"e{i}", content=t, agent_id=agent_id, importance=0.4 + i / 100)
                          for i, t in enumerate(texts)])
    memory.remember("Python decorators wrap functions", agent_id, memory_type="semantic",
                    id="fact")  # not an episode: never a source


def semantic(memory: HybridMemory, agent_id: str) -> list[Memory]:
    return [m for m in memory.memories(agent_id, memory_types=[MemoryType.SEMANTIC])
            if m.id != "fact"]


def test_groups_become_semantic_memories_with_provenance(memory: HybridMemory,
                                                         agent_id: str) -> None:
    seed(memory, agent_id)
    seen: list[tuple[int, int]] = []
    report = memory.consolidate(agent_id, policy=POLICY, progress=lambda d, t: seen.append((d, t)))
    assert (report.considered, report.groups, report.sources) == (8, 2, 6)
    assert seen == [(1, 2), (2, 2)]
    made = {tuple(sorted(m.source_ids)): m for m in semantic(memory, agent_id)}
    assert set(made) == {("e0", "e1", "e2"), ("e3", "e4", "e5")}
    python = made[("e0", "e1", "e2")]
    assert sorted(report.created) == sorted(m.id for m in made.values())
    assert python.importance == pytest.approx(0.42)  # the most important source's
    assert python.metadata == {"consolidated": True, "source_count": 3}
    assert "decorators" in python.content
    for source in memory.get_many(["e0", "e1", "e2"], agent_id):
        assert source.metadata[MARK] == python.id
        assert source.importance == pytest.approx((0.4 + int(source.id[1]) / 100) * 0.5)
    untouched = memory.get("e6", agent_id)
    assert MARK not in untouched.metadata and untouched.importance == pytest.approx(0.46)
    if memory.mode != "chroma":
        assert sorted(r.memory.id for r in memory.related(python.id, agent_id, direction="out")) == [
            "e0", "e1", "e2"]
        assert {lk.relation for lk in memory.links(python.id, agent_id)} == {"derived_from"}


def test_a_second_run_changes_nothing(memory: HybridMemory, agent_id: str) -> None:
    seed(memory, agent_id)
    memory.consolidate(agent_id, policy=POLICY)
    before = {m.id: m for m in memory.memories(agent_id)}
    again = memory.consolidate(agent_id, policy=POLICY)
    assert (again.groups, again.created, again.sources) == (0, [], 0)
    assert {m.id: m for m in memory.memories(agent_id)} == before


def test_an_interrupted_run_is_repaired_not_duplicated(memory: HybridMemory,
                                                       agent_id: str) -> None:
    seed(memory, agent_id)
    first = memory.consolidate(agent_id, policy=ConsolidationPolicy(similarity=0.6,
                                                                    sources="keep"))
    for i in range(3):  # as if the run had stopped before marking the Python sources
        m = memory.get(f"e{i}", agent_id)
        memory.update(m.id, agent_id, metadata={k: v for k, v in m.metadata.items() if k != MARK})
    again = memory.consolidate(agent_id, policy=POLICY)
    assert (again.groups, again.repaired, again.created) == (1, 1, [])
    assert len(semantic(memory, agent_id)) == len(first.created) == 2
    assert all(MARK in memory.get(f"e{i}", agent_id).metadata for i in range(3))


def test_dry_run_reports_and_writes_nothing(memory: HybridMemory, agent_id: str) -> None:
    seed(memory, agent_id)
    before = memory.memories(agent_id)
    report = memory.consolidate(agent_id, policy=POLICY, dry_run=True)
    assert (report.groups, report.sources, report.created, report.dry_run) == (2, 6, [], True)
    assert memory.memories(agent_id) == before


def test_expire_policy_sets_sources_to_expire(memory: HybridMemory, agent_id: str) -> None:
    seed(memory, agent_id)
    policy = ConsolidationPolicy(similarity=0.6, sources="expire", expire_after=timedelta(hours=2))
    memory.consolidate(agent_id, policy=policy)
    source = memory.get("e3", agent_id)
    assert source.expires_at is not None and source.importance == pytest.approx(0.43)
    assert timedelta(hours=1) < source.expires_at - source.updated_at <= timedelta(hours=2)


def test_another_agent_is_never_consolidated(memory: HybridMemory, agent_id: str) -> None:
    seed(memory, agent_id)
    seed(memory, agent_id + "-b")
    memory.consolidate(agent_id, policy=POLICY)
    assert semantic(memory, agent_id + "-b") == []
    assert all(MARK not in m.metadata for m in memory.memories(agent_id + "-b"))


def test_an_llm_summarizer_writes_the_text(memory: HybridMemory, agent_id: str) -> None:
    class Echo:
        prompts: list[str] = []

        async def acomplete(self, prompt: str) -> str:
            self.prompts.append(prompt)
            return "  The user keeps asking about Python decorators.  "

    seed(memory, agent_id)
    llm = Echo()
    memory.consolidate(agent_id, policy=ConsolidationPolicy(similarity=0.6),
                       summarizer=LLMSummarizer(llm))
    assert "The user keeps asking about Python decorators." in {
        m.content for m in semantic(memory, agent_id)}
    assert any("- The user asked again how to write Python decorators" in p for p in llm.prompts)


def test_grouping_is_greedy_by_centroid_in_order() -> None:
    v = np.array([[1, 0], [0.9, 0.1], [0, 1], [0.1, 0.9], [0.7, 0.7]], dtype=np.float64)
    v /= np.linalg.norm(v, axis=1, keepdims=True)
    assert group(v, 0.9) == [[0, 1], [2, 3], [4]]
    assert group(v, 0.5) == [[0, 1, 4], [2, 3]]
    assert group(np.zeros((0, 2)), 0.5) == []


async def test_extractive_summary_keeps_the_most_central_texts_in_time_order() -> None:
    ms = [Memory(content=t, agent_id="a") for t in ["alpha one", "beta two", "gamma three"]]
    v = np.array([[1, 0], [0.8, 0.6], [0, 1]], dtype=np.float64)
    v /= np.linalg.norm(v, axis=1, keepdims=True)
    assert await ExtractiveSummarizer(2).asummarize(ms, v) == "alpha one. beta two."


@pytest.mark.parametrize("bad", [{"min_group": 1}, {"similarity": 2.0}, {"sources": "drop"},
                                 {"importance_factor": 1.5}, {"since": timedelta(0)}])
def test_policy_rejects_bad_values(bad: dict[str, object]) -> None:
    with pytest.raises(ConfigError, match=next(iter(bad))):
        ConsolidationPolicy(**bad)  # type: ignore[arg-type]
