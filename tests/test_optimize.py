"""`agentmem optimize`: ANN indexes for large agents, tuned by a recall probe."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from agentmem import HashingEmbedder, HybridMemory, Memory, PostgresBackend
from agentmem.backends.base import StoreInfo
from agentmem.ops.optimize import EF_CHOICES, optimize
from tests.test_cli import run
from tests.test_plans import _mixture

DIM = 32


def _fill(url: str, agent: str, n: int, seed: int) -> None:
    memory = HybridMemory(embedder=HashingEmbedder(DIM), postgres=PostgresBackend(url))
    memory.init()
    vectors = _mixture(np.random.default_rng(seed), n)
    memory.remember_many([Memory(id=f"{agent}-{i}", content=f"memory {i}", agent_id=agent)
                          for i in range(n)], vectors)
    memory.close()


async def test_dry_run_reports_and_apply_builds_and_tunes(new_database) -> None:  # type: ignore[no-untyped-def]
    url = new_database()
    _fill(url, "big", 2500, 1)
    _fill(url, "small", 100, 2)
    backend = PostgresBackend(url)
    await backend.check(StoreInfo("hashing-v1", DIM))

    dry = await optimize(backend, min_rows=1000, probes=15)
    assert not dry.applied and [a.agent_id for a in dry.agents] == ["big"]
    assert dry.agents[0].action == "build" and dry.agents[0].before_recall == 1.0  # exact
    assert await backend.ann_indexes() == {}  # nothing changed

    done = await optimize(backend, apply=True, min_rows=1000, probes=15, target_recall=0.99)
    big = done.agents[0]
    assert done.applied and done.vacuumed and big.action == "build"
    assert (await backend.ann_indexes())["big"].ef_search == big.ef_search
    assert big.ef_search in EF_CHOICES and [p["ef_search"] for p in big.probe] == list(
        EF_CHOICES[:len(big.probe)])
    assert big.probe[-1]["recall"] >= 0.99 or big.ef_search == EF_CHOICES[-1]
    assert big.after_recall is not None and big.after_recall >= 0.99
    assert any(i["name"] == big.index for i in done.table["indexes"])

    again = await optimize(backend, min_rows=1000, probes=15)
    assert again.agents[0].action == "keep"
    await backend.close()


def test_the_command_is_a_dry_run_on_a_server_unless_applied(new_database, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    url = new_database()
    _fill(url, "big", 1200, 3)
    env = {"AGENTMEM_POSTGRES_URL": url, "AGENTMEM_EMBEDDINGS": f"hashing:{DIM}"}
    dry = run(tmp_path, "optimize", "--min-rows", "1000", "--json", **env)
    assert dry.returncode == 0, dry.stdout + dry.stderr
    report = json.loads(dry.stdout)
    assert report["applied"] is False and report["agents"][0]["action"] == "build"
    applied = run(tmp_path, "optimize", "--min-rows", "1000", "--apply", **env)
    assert applied.returncode == 0, applied.stdout + applied.stderr
    assert "applied" in applied.stdout and "big" in applied.stdout
    chroma_only = run(tmp_path, "optimize", AGENTMEM_MODE="chroma")
    assert chroma_only.returncode == 3 and "pgvector or hybrid" in chroma_only.stderr
