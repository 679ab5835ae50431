"""Backup and restore: exact round trips on every mode and across modes, nothing written
from a damaged file, re-runs that change nothing, tenants kept apart."""

from __future__ import annotations

import gzip
import json
import uuid
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from agentmem import ChatTurn, HashingEmbedder, HybridMemory, Memory, MemoryType
from agentmem.errors import ConfigError, InvalidInput
from agentmem.models import utcnow
from tests.conftest import DIM, make_memory

NewStore = Callable[..., HybridMemory]


@pytest.fixture
def new_store(new_database: Callable[[], str], chroma_url: str) -> Iterator[NewStore]:
    """Factory: an empty store in a mode, on a database and Chroma prefix of its own."""
    made: list[HybridMemory] = []

    def make(mode: str, **kw: Any) -> HybridMemory:
        if mode != "pgvector":
            kw["prefix"] = f"b{uuid.uuid4().hex[:12]}"
        memory: HybridMemory = make_memory(
            mode, new_database() if mode != "chroma" else "unused", chroma_url, **kw)
        made.append(memory)
        return memory

    yield make
    for memory in made:
        memory.close()


def fill(memory: HybridMemory, agent: str) -> None:
    """Memories of every kind of field, one expired, links and two chat sessions."""
    now = utcnow()
    memory.remember_many([
        Memory(id="m1", content="The user prefers dark mode", agent_id=agent,
               memory_type=MemoryType.SEMANTIC, importance=0.9, metadata={"topic": "ui", "n": 3},
               user_id="u1"),
        Memory(id="m2", content="Fixed a KeyError in their script", agent_id=agent,
               session_id="s1", metadata={"tags": ["python", "bug"], "nested": {"a": 1.5}},
               expires_at=now + timedelta(days=3)),
        Memory(id="m3", content="To deploy: run the tests, then tag a release", agent_id=agent,
               memory_type=MemoryType.PROCEDURAL, source_ids=["m2"], importance=0.2),
        Memory(id="m4", content="An old note that has expired", agent_id=agent,
               expires_at=now - timedelta(hours=1)),
        Memory(id="m5", content="Said hello", agent_id=agent, session_id="s1",
               created_at=now - timedelta(minutes=5)),
    ])
    if memory.mode != "chroma":
        memory.link("m2", "m3", agent, relation="derived_from")
        memory.link("m1", "m2", agent)
    memory.add_turns([ChatTurn(session_id="s1", agent_id=agent, role="user", content="hi",
                               extra={"lang": "en"}),
                      ChatTurn(session_id="s1", agent_id=agent, role="assistant", content="hello"),
                      ChatTurn(session_id="s2", agent_id=agent, role="user", content="again")])


def snapshot(memory: HybridMemory, agent: str) -> dict[str, Any]:
    """Everything a backup should carry for one agent, expired memories included."""
    async def scan() -> list[tuple[Memory, list[float]]]:
        out: list[tuple[Memory, list[float]]] = []
        async for memories, vectors in memory.backend.scan(agent):  # type: ignore[attr-defined]
            out.extend(zip(memories, vectors, strict=True))
        return out

    from agentmem._runner import shared_runner

    rows = sorted(shared_runner().run(scan()), key=lambda row: row[0].id)
    sessions = {s: [t.model_dump() for t in memory.history(s, agent)]
                for s in shared_runner().run(memory.backend.sessions(agent))}
    links = (sorted(link.model_dump_json() for m, _ in rows for link in memory.links(m.id, agent))
             if memory.mode != "chroma" else [])
    # stores keep float32; Chroma's client hands them over as shortest decimal strings
    vectors = [np.asarray(v, dtype=np.float32).tolist() for _, v in rows]
    return {"memories": [m.model_dump() for m, _ in rows], "vectors": vectors,
            "sessions": sessions, "links": links}


@pytest.mark.parametrize("name", ["backup.jsonl", "backup.jsonl.gz"])
def test_round_trip_is_exact_on_every_mode(mode: str, name: str, new_store: NewStore,
                                           tmp_path: Path) -> None:
    agent = f"agent-{uuid.uuid4().hex[:8]}"
    source, target = new_store(mode), new_store(mode)
    fill(source, agent)
    before = snapshot(source, agent)
    path = tmp_path / name
    written = source.export(path)
    assert (written.memories, written.turns, written.sessions) == (5, 3, 2)
    assert written.links == (0 if mode == "chroma" else 2)
    assert not (tmp_path / f"{name}.partial").exists()
    if name.endswith(".gz"):
        with gzip.open(path, "rt") as f:
            assert json.loads(f.readline())["kind"] == "agentmem-backup"

    read = target.restore(path)
    assert (read.memories, read.turns, read.links, read.vectors) == (
        written.memories, written.turns, written.links, "copied")
    after = snapshot(target, agent)
    assert after == before
    assert len(before["memories"]) == 5 and before["vectors"][0]  # the snapshot is not empty
    # restored memories are found like the originals
    assert [h.memory.id for h in target.recall("dark mode", agent, k=1)] == ["m1"]


def test_chroma_backup_restores_into_pgvector_and_back(new_store: NewStore, tmp_path: Path) -> None:
    agent = f"agent-{uuid.uuid4().hex[:8]}"
    chroma, pgvector, again = new_store("chroma"), new_store("pgvector"), new_store("chroma")
    fill(chroma, agent)
    chroma.export(tmp_path / "c.jsonl.gz")
    pgvector.restore(tmp_path / "c.jsonl.gz")
    assert snapshot(pgvector, agent) == snapshot(chroma, agent)
    pgvector.export(tmp_path / "p.jsonl")
    again.restore(tmp_path / "p.jsonl")
    assert snapshot(again, agent) == snapshot(chroma, agent)


def test_links_into_chroma_mode_are_refused_unless_skipped(new_store: NewStore,
                                                           tmp_path: Path) -> None:
    agent = f"agent-{uuid.uuid4().hex[:8]}"
    source, target = new_store("pgvector"), new_store("chroma")
    fill(source, agent)
    source.export(tmp_path / "b.jsonl")
    with pytest.raises(ConfigError, match="2 links.*skip"):
        target.restore(tmp_path / "b.jsonl")
    assert target.stats(agent).total == 0  # refused before anything was written
    report = target.restore(tmp_path / "b.jsonl", skip_links=True)
    assert (report.memories, report.links, report.links_skipped) == (5, 0, 2)


def test_restore_twice_changes_nothing(new_store: NewStore, tmp_path: Path) -> None:
    agent = f"agent-{uuid.uuid4().hex[:8]}"
    source, target = new_store("hybrid"), new_store("hybrid")
    fill(source, agent)
    source.export(tmp_path / "b.jsonl")
    target.restore(tmp_path / "b.jsonl")
    first = snapshot(target, agent)
    target.restore(tmp_path / "b.jsonl")
    assert snapshot(target, agent) == first
    assert target.stats(agent).turns == 3  # history replaced, not appended


def test_damaged_backups_write_nothing(new_store: NewStore, tmp_path: Path) -> None:
    agent = f"agent-{uuid.uuid4().hex[:8]}"
    source, target = new_store("pgvector"), new_store("pgvector")
    fill(source, agent)
    good = tmp_path / "b.jsonl"
    source.export(good)
    lines = good.read_text().splitlines(keepends=True)

    truncated = tmp_path / "truncated.jsonl"
    truncated.write_text("".join(lines[:-1]))
    with pytest.raises(InvalidInput, match="no end record"):
        target.restore(truncated)

    corrupt = tmp_path / "corrupt.jsonl"
    corrupt.write_text("".join([*lines[:3], "{not json\n", *lines[3:]]))
    with pytest.raises(InvalidInput, match="line 4: not JSON"):
        target.restore(corrupt)

    short = tmp_path / "short.jsonl"
    record = json.loads(lines[1])
    record["vector"] = record["vector"][:-1]
    short.write_text("".join([lines[0], json.dumps(record) + "\n", *lines[2:]]))
    with pytest.raises(InvalidInput, match=f"line 2: the vector is not {DIM} numbers"):
        target.restore(short)

    miscounted = tmp_path / "miscounted.jsonl"
    miscounted.write_text("".join([lines[0], *lines[2:]]))
    with pytest.raises(InvalidInput, match="says"):
        target.restore(miscounted)

    cut_gzip = tmp_path / "cut.jsonl.gz"
    source.export(tmp_path / "whole.jsonl.gz")
    data = (tmp_path / "whole.jsonl.gz").read_bytes()
    cut_gzip.write_bytes(data[: len(data) // 2])
    with pytest.raises(InvalidInput, match="damaged or truncated|no end record"):
        target.restore(cut_gzip)

    with pytest.raises(InvalidInput, match="no backup at"):
        target.restore(tmp_path / "absent.jsonl")
    not_backup = tmp_path / "other.jsonl"
    not_backup.write_text('{"hello": 1}\n')
    with pytest.raises(InvalidInput, match="not an agentmem backup"):
        target.restore(not_backup)
    assert target.stats(agent).total == 0 and target.stats(agent).turns == 0


def test_export_to_an_unwritable_place_fails_clearly(new_store: NewStore, tmp_path: Path) -> None:
    memory = new_store("pgvector")
    with pytest.raises(InvalidInput, match="cannot write the backup"):
        memory.export(tmp_path / "missing-dir" / "b.jsonl")


def test_another_embedder_re_embeds(new_store: NewStore, tmp_path: Path) -> None:
    agent = f"agent-{uuid.uuid4().hex[:8]}"
    source = new_store("pgvector")
    target = new_store("pgvector", embedder=HashingEmbedder(DIM * 2))
    fill(source, agent)
    source.export(tmp_path / "b.jsonl")
    report = target.restore(tmp_path / "b.jsonl")
    assert report.vectors == "re-embedded" and "dimension 64" in report.vectors_reason
    restored = snapshot(target, agent)
    assert [len(v) for v in restored["vectors"]] == [DIM * 2] * 5
    expected = HashingEmbedder(DIM * 2).embed_documents([m["content"] for m in restored["memories"]])
    np.testing.assert_allclose(restored["vectors"], expected, atol=1e-6)
    assert restored["memories"] == snapshot(source, agent)["memories"]


def test_one_agent_only_and_tenants_apart(new_store: NewStore, tmp_path: Path) -> None:
    alice, bob = f"alice-{uuid.uuid4().hex[:6]}", f"bob-{uuid.uuid4().hex[:6]}"
    source, target = new_store("hybrid"), new_store("pgvector")
    fill(source, alice)
    fill(source, bob)
    everyone = source.export(tmp_path / "all.jsonl")
    assert (everyone.agents, everyone.memories) == (2, 10)
    only = source.export(tmp_path / "alice.jsonl", alice)
    assert (only.agents, only.memories, only.turns) == (1, 5, 3)
    assert bob not in (tmp_path / "alice.jsonl").read_text()

    report = target.restore(tmp_path / "all.jsonl", bob)
    assert (report.agents, report.memories, report.turns, report.links) == (1, 5, 3, 2)
    assert target.stats(alice).total == 0 and target.stats(alice).turns == 0
    assert snapshot(target, bob) == snapshot(source, bob)


def test_progress_reaches_the_total(new_store: NewStore, tmp_path: Path) -> None:
    agent = f"agent-{uuid.uuid4().hex[:8]}"
    source, target = new_store("pgvector"), new_store("pgvector")
    fill(source, agent)
    seen: list[tuple[int, int]] = []
    source.export(tmp_path / "b.jsonl", progress=lambda d, t: seen.append((d, t)))
    assert seen[0] == (0, 5) and seen[-1] == (5, 5)
    seen.clear()
    target.restore(tmp_path / "b.jsonl", batch_size=2, progress=lambda d, t: seen.append((d, t)))
    assert seen[-1] == (10, 10) and len(seen) > 2  # 5 memories + 2 links + 3 turns


def test_the_command_line_round_trip(new_database: Callable[[], str], tmp_path: Path) -> None:
    from tests.test_cli import run

    agent = f"agent-{uuid.uuid4().hex[:8]}"
    source_url, target_url = new_database(), new_database()
    with make_memory("pgvector", source_url, "unused", dim=384) as source:
        fill(source, agent)
        before = snapshot(source, agent)
    at = {"AGENTMEM_MODE": "pgvector"}
    out = run(tmp_path, "export", "--out", "b.jsonl.gz", "--json",
              AGENTMEM_POSTGRES_URL=source_url, **at)
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["memories"] == 5
    assert run(tmp_path, "migrate", AGENTMEM_POSTGRES_URL=target_url, **at).returncode == 0
    restored = run(tmp_path, "import", "b.jsonl.gz", "--json", AGENTMEM_POSTGRES_URL=target_url, **at)
    assert restored.returncode == 0, restored.stderr
    report = json.loads(restored.stdout)
    assert (report["memories"], report["links"], report["turns"], report["vectors"]) == (
        5, 2, 3, "copied")
    with make_memory("pgvector", target_url, "unused", dim=384) as target:
        assert snapshot(target, agent) == before

    human = run(tmp_path, "import", "b.jsonl.gz", AGENTMEM_POSTGRES_URL=target_url, **at)
    assert "restored 5 memories" in human.stdout and "vectors: copied" in human.stdout

    usage = run(tmp_path, "import", "--from", "chroma", "http://127.0.0.1:1",
                AGENTMEM_POSTGRES_URL=target_url, **at)
    assert usage.returncode == 2 and "needs --collection and --agent" in usage.stderr

    (tmp_path / "cut.jsonl").write_text('{"kind":"agentmem-backup","format":1,'
                                        '"model_id":"hashing-v1","dimension":384}\n')
    damaged = run(tmp_path, "import", "cut.jsonl", "--json", AGENTMEM_POSTGRES_URL=target_url, **at)
    error = json.loads(damaged.stderr)["error"]
    assert damaged.returncode == 1 and error["type"] == "InvalidInput"
    assert "truncated" in error["message"] and damaged.stdout == ""
