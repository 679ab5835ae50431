"""``python -m benchmarks store [options]``: the side-by-side storage benchmark;
``python -m benchmarks cache``: the session cache on and off."""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from rich.console import Console

from .data import DATASETS, SCENARIOS
from .runner import Config, quick_config, run
from .systems import SYSTEM_NAMES


def _ints(text: str) -> list[int]:
    return [int(x) for x in text.split(",") if x.strip()]


def _names(allowed: tuple[str, ...]) -> Callable[[str], list[str]]:
    def parse(text: str) -> list[str]:
        names = [x.strip() for x in text.split(",") if x.strip()]
        bad = [n for n in names if n not in allowed]
        if bad:
            raise argparse.ArgumentTypeError(f"unknown {', '.join(bad)}; choose from "
                                             f"{', '.join(allowed)}")
        return names
    return parse


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m benchmarks",
                                description="agentmem benchmarks (run from the repo root)")
    sub = p.add_subparsers(dest="command", required=True)
    s = sub.add_parser("store", help="agentmem's storage modes side by side with their peers",
                       formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    d = Config()
    s.add_argument("--quick", action="store_true",
                   help="smoke test: N=600 mixture data, 6 agents, 20 queries, 1 repeat, every system")
    s.add_argument("--sizes", type=_ints, help=f"row counts (default {d.sizes}; quick [600])")
    s.add_argument("--datasets", type=_names(DATASETS), help=f"of {', '.join(DATASETS)} (all)")
    s.add_argument("--scenarios", type=_names(SCENARIOS),
                   help="agents: 100 agents share the store; single: one agent holds all rows")
    s.add_argument("--systems", type=_names(SYSTEM_NAMES),
                   help=f"comma list of {', '.join(SYSTEM_NAMES)} (all)")
    s.add_argument("--repeats", type=int, help=f"rounds per system below --large-from rows "
                                               f"(default {d.repeats})")
    s.add_argument("--repeats-large", type=int,
                   help=f"rounds per system at --large-from rows or more (default {d.repeats_large})")
    s.add_argument("--large-from", type=int, help=f"default {d.large_from}")
    s.add_argument("--agents", type=int, help=f"agents in the 'agents' scenario (default {d.agents})")
    s.add_argument("--queries", type=int, help=f"queries per cell (default {d.queries})")
    s.add_argument("--batch", type=int, help=f"rows per ingest batch (default {d.batch})")
    s.add_argument("--ef-search", type=_ints, help=f"raw HNSW settings (default {d.ef_search})")
    s.add_argument("--seed", type=int, help=f"default {d.seed}")
    s.add_argument("--out", type=Path, default=Path("benchmarks/results"),
                   help="where the JSON, markdown and PNGs go")
    s.add_argument("--workdir", type=Path, help="scratch space for servers and data "
                                               "(default: a fresh temporary directory)")
    c = sub.add_parser("cache", help="the session cache on vs off, with all-MiniLM-L6-v2",
                       formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    from .cache import CacheConfig

    dc = CacheConfig()
    for name in ("texts", "queries", "rounds", "repeats", "batch", "seed"):
        c.add_argument(f"--{name}", type=int, default=getattr(dc, name))
    c.add_argument("--out", type=Path, default=Path("benchmarks/results"))
    r = sub.add_parser("report", help="re-render the markdown and PNGs from a run's JSON")
    r.add_argument("json", type=Path, help="a store-*.json written by `store`")
    r.add_argument("--out", type=Path, default=Path("benchmarks/results"))
    return p


def config_from(args: argparse.Namespace) -> Config:
    given = {k: v for k, v in vars(args).items()
             if v is not None and k in Config.__dataclass_fields__ and k != "quick"}
    return quick_config(**given) if args.quick else Config(**given)


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    if args.command == "report":
        import json

        from .report import write_all

        written = write_all(json.loads(args.json.read_text()), args.out)
        print("wrote " + ", ".join(str(p) for p in written.values()))
        return 0
    if args.command == "cache":
        from .cache import CacheConfig, run_cache, summary, write

        with tempfile.TemporaryDirectory(prefix="agentmem-bench-") as tmp:
            record = run_cache(CacheConfig(**{k: getattr(args, k) for k in
                                              CacheConfig.__dataclass_fields__}), Path(tmp))
        print(summary(record))
        print(f"wrote {write(record, args.out)}")
        return 0
    config = config_from(args)
    console = Console(stderr=True)
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="agentmem-bench-") as tmp:
        record = run(config, args.workdir or Path(tmp), console)
    from .report import write_all

    written = write_all(record, args.out)
    failed = [r for r in record["records"] if r["error"]]
    console.print(f"done in {time.perf_counter() - started:.1f} s; wrote "
                  + ", ".join(str(p) for p in written.values()))
    if failed:
        console.print(f"[red]{len(failed)} round(s) failed[/red]: see {written['markdown']}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
