"""One round, run in a fresh ``spawn`` process: build a system, ingest, index, query.

A process of its own per round keeps rounds from sharing caches, pools or imports, and
makes its peak RSS (``VmHWM``, see :func:`peak_rss_mb`) that of that system's client alone
(the process's own memory: the PostgreSQL and Chroma servers are other processes).
"""

from __future__ import annotations

import resource
import sys
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .data import Cell, CellSpec, content_of, row_id
from .systems import Batch, Env, make_system

__all__ = ["PathTiming", "RoundResult", "RoundSpec", "run_round", "worker_main"]

Progress = Callable[[str, int, int], None]  # (phase, done, total)


@dataclass(frozen=True)
class RoundSpec:
    round: str
    cell: CellSpec
    data_path: Path
    env: Env
    batch: int = 1000
    k: int = 10
    warmup: int = 10


@dataclass
class PathTiming:
    latencies_ms: list[float] = field(default_factory=list)
    found: list[list[str]] = field(default_factory=list)


@dataclass
class RoundResult:
    round: str
    setup_s: float
    ingest_s: float
    index_s: dict[str, float]
    paths: dict[str, PathTiming]
    rss_base_mb: float
    rss_peak_mb: float
    describe: dict[str, Any]


def peak_rss_mb() -> float:
    """This process's peak resident set size so far, in MiB.

    On Linux this is ``VmHWM`` from ``/proc/self/status``: the high-water mark of this
    process's own address space. ``getrusage(RUSAGE_SELF).ru_maxrss`` is not used there
    because it survives fork and exec: a spawned child starts with its parent's peak.
    Elsewhere ``ru_maxrss`` is the fallback.
    """
    status = Path("/proc/self/status")
    if status.exists():
        for line in status.read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024


def batches(cell: Cell, size: int) -> list[Batch]:
    rows = range(len(cell.vectors))
    return [Batch(ids=[row_id(i) for i in rows[s:s + size]],
                  contents=[content_of(i) for i in rows[s:s + size]],
                  agents=[cell.agent_names[a] for a in cell.row_agent[s:s + size]],
                  vectors=cell.vectors[s:s + size])
            for s in range(0, len(rows), size)]


def run_round(spec: RoundSpec, progress: Progress) -> RoundResult:
    cell = Cell.load(spec.cell, spec.data_path)
    rss_base = peak_rss_mb()  # Python, numpy and the cell's data: before any system is built
    start = time.perf_counter()
    system = make_system(spec.round, spec.env)
    setup_s = time.perf_counter() - start
    try:
        todo = batches(cell, spec.batch)
        ingest_s = 0.0
        for i, batch in enumerate(todo):
            start = time.perf_counter()
            system.ingest(batch)
            ingest_s += time.perf_counter() - start
            progress("ingest", i + 1, len(todo))
        progress("index", 0, 1)
        index_s = system.build_index()
        paths = system.paths()
        names = list(paths)
        agents = [cell.agent_names[a] for a in cell.query_agent]
        for q, agent in list(zip(cell.queries, agents))[:spec.warmup]:  # untimed
            for name in names:
                paths[name](agent, q, spec.k)
        timings = {name: PathTiming() for name in names}
        for i, (q, agent) in enumerate(zip(cell.queries, agents)):
            for name in names[i % len(names):] + names[:i % len(names)]:  # rotate who goes first
                t0 = time.perf_counter_ns()
                found = paths[name](agent, q, spec.k)
                dt = time.perf_counter_ns() - t0
                timings[name].latencies_ms.append(dt / 1e6)
                timings[name].found.append(found)
            if (i + 1) % 25 == 0 or i + 1 == len(agents):
                progress("query", i + 1, len(agents))
        rss_peak = peak_rss_mb()
        described = system.describe()
    finally:
        system.close()
    return RoundResult(spec.round, setup_s, ingest_s, index_s, timings, rss_base, rss_peak,
                       described)


def worker_main(spec: RoundSpec, conn: Any) -> None:
    """Entry point of the spawned process: progress, then one result or one error."""
    try:
        result = run_round(spec, lambda phase, done, total: conn.send(
            ("progress", phase, done, total)))
        conn.send(("result", result))
    except BaseException:
        conn.send(("error", traceback.format_exc()))
    finally:
        conn.close()
