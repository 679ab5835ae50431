"""``python -m benchmarks cache``: the session cache's effect with a real embedder.

Two memories over one embedded PostgreSQL (pgvector mode), one with a
:class:`~agentmem.SessionCache` and one without, both embedding with all-MiniLM-L6-v2:

- **repeated recalls**: the same ``queries`` queries, ``rounds`` times, the two memories
  interleaved query by query; the median latency of one recall on each and their ratio
  (the cached memory's first round are misses, counted in).
- **re-ingest**: ``texts`` texts written once, then written again unchanged (same ids)
  ``repeats`` times, the two memories alternating; the median time of a re-ingest on each.

Texts are seeded synthetic sentences; nothing is downloaded (``HF_HUB_OFFLINE=1``).
"""

from __future__ import annotations

import functools
import json
import os
import random
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from .servers import Servers
from .stats import median, ratio

__all__ = ["CacheConfig", "run_cache"]

_WORDS = ("user", "tea", "flight", "Lisbon", "chess", "meeting", "report", "garden", "python",
          "deadline", "coffee", "budget", "doctor", "train", "invoice", "recipe", "piano",
          "server", "holiday", "birthday", "review", "contract", "bicycle", "museum")
_VERBS = ("likes", "booked", "asked about", "cancelled", "wrote", "forgot", "planned",
          "moved", "paid", "mentioned")


@dataclass(frozen=True)
class CacheConfig:
    texts: int = 2000
    queries: int = 50
    rounds: int = 10
    repeats: int = 3
    batch: int = 200
    seed: int = 0


def _sentences(n: int, rng: random.Random) -> list[str]:
    return [f"The {rng.choice(_WORDS)} {rng.choice(_VERBS)} the {rng.choice(_WORDS)} and "
            f"the {rng.choice(_WORDS)} on day {rng.randint(1, 365)} (note {i})"
            for i in range(n)]


def _timed(fn: Callable[[], object]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def run_cache(config: CacheConfig, workdir: Path) -> dict[str, Any]:
    """Run both measurements; returns the record (figures in seconds)."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from agentmem import HybridMemory, Memory, PostgresBackend, SessionCache
    from agentmem.embeddings import embedder_from_spec

    embedder = embedder_from_spec("sentence-transformers:all-MiniLM-L6-v2")
    rng = random.Random(config.seed)
    texts = _sentences(config.texts, rng)
    queries = [f"what did the {rng.choice(_WORDS)} {rng.choice(_VERBS)}?"
               for _ in range(config.queries)]
    with Servers(workdir) as servers:
        _, url = servers.new_database()
        memories = {name: HybridMemory(embedder=embedder, postgres=PostgresBackend(url),
                                       cache=SessionCache() if name == "on" else None)
                    for name in ("off", "on")}
        try:
            memories["off"].init()

            def ingest(name: str) -> None:
                rows = [Memory(id=f"{name}-{i}", content=t, agent_id=f"agent-{name}")
                        for i, t in enumerate(texts)]
                for at in range(0, len(rows), config.batch):
                    memories[name].remember_many(rows[at:at + config.batch])

            embedder.embed_documents(queries[:1])  # the model's first call is slow: untimed
            first = {name: _timed(functools.partial(ingest, name)) for name in memories}
            again: dict[str, list[float]] = {name: [] for name in memories}
            for r in range(config.repeats):
                for name in (("off", "on") if r % 2 == 0 else ("on", "off")):
                    again[name].append(_timed(functools.partial(ingest, name)))
            recall: dict[str, list[float]] = {name: [] for name in memories}
            for r in range(config.rounds):
                for q in queries:
                    for name in (("off", "on") if r % 2 == 0 else ("on", "off")):
                        recall[name].append(_timed(functools.partial(
                            memories[name].recall, q, f"agent-{name}", k=10)))
            cache = memories["on"].cache
            stats = cache.stats().model_dump() if cache is not None else None
        finally:
            for m in memories.values():
                m.close()
    p50 = {name: median(v) for name, v in recall.items()}
    reingest = {name: median(v) for name, v in again.items()}
    return {"config": asdict(config), "model": embedder.model_id,
            "recall_p50_s": p50, "recall_speedup": ratio(p50["off"], p50["on"]),
            "first_ingest_s": first, "reingest_median_s": reingest,
            "reingest_speedup": ratio(reingest["off"], reingest["on"]), "cache": stats}


def summary(record: dict[str, Any]) -> str:
    """The record as a few markdown lines."""
    c, p50, re = record["config"], record["recall_p50_s"], record["reingest_median_s"]
    return "\n".join([
        f"session cache, {record['model']}, pgvector mode",
        f"- {c['queries']} queries x {c['rounds']} rounds: recall p50 off "
        f"{p50['off'] * 1000:.2f} ms, on {p50['on'] * 1000:.2f} ms "
        f"({record['recall_speedup']:.1f}x)",
        f"- re-ingest of {c['texts']} unchanged texts (median of {c['repeats']}): off "
        f"{re['off']:.2f} s, on {re['on']:.2f} s ({record['reingest_speedup']:.1f}x); "
        f"first ingest off {record['first_ingest_s']['off']:.2f} s, on "
        f"{record['first_ingest_s']['on']:.2f} s",
        f"- hit rates: embeddings {record['cache']['embeddings']['hit_rate']:.2f}, "
        f"recalls {record['cache']['recalls']['hit_rate']:.2f}",
    ])


def write(record: dict[str, Any], out: Path) -> Path:
    """Write the record as ``cache-latest.json`` under ``out``."""
    out.mkdir(parents=True, exist_ok=True)
    path = out / "cache-latest.json"
    path.write_text(json.dumps(record, indent=2) + "\n")
    return path
