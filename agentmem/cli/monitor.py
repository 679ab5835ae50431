"""The monitoring commands: ``monitor`` (a live table, or JSON) and ``serve-metrics``."""

from __future__ import annotations

import json
import signal
import sys
import time
from datetime import datetime, timezone
from typing import Any, NoReturn

import typer
from rich.console import Group
from rich.live import Live
from rich.table import Table

from .._runner import shared_runner
from ..errors import ConfigError
from ..memory import HybridMemory
from ._app import JSON_OPT, app, console, err_console, fail, open_memory

__all__: list[str] = []


def _snapshot(memory: HybridMemory, agent_id: str | None, url: str | None) -> dict[str, Any]:
    """One reading: store sizes, this process's RSS and, with ``url``, a server's figures."""
    from ..ops.monitor import process_rss, scrape_operations, store_report

    report = shared_runner().run(store_report(memory, agent_id))
    out: dict[str, Any] = {"time": datetime.now(timezone.utc).isoformat(), "mode": memory.mode,
                           "agent": agent_id, **report.as_dict(), "rss_bytes": process_rss()}
    if url is not None:
        out["server"] = {"url": url, **scrape_operations(url)}
    return out


def _mib(n: int | None) -> str:
    return "-" if n is None else f"{n / 2**20:.1f} MiB"


def _ms(s: float | None) -> str:
    return "-" if s is None else f"{s * 1000:.2f}"


def _render(snap: dict[str, Any]) -> Group:
    scope = snap["agent"] or "all agents"
    stores = Table(title=f"agentmem monitor ({snap['mode']} mode, {scope}) {snap['time']}")
    for col in ("store", "location", "memories", "turns", "table bytes", "index bytes"):
        stores.add_column(col, justify="left" if col in ("store", "location") else "right")
    for s in snap["stores"]:
        stores.add_row(s["store"], s["location"], str(s["memories"]), str(s["turns"]),
                       _mib(s["table_bytes"]), _mib(s["index_bytes"]))
    lines = [f"process RSS {_mib(snap['rss_bytes'])}"]
    if snap["pending_index"] is not None:
        lines.append(f"waiting for the Chroma index: {snap['pending_index']}")
    parts: list[Any] = [stores, " · ".join(lines)]
    server = snap.get("server")
    if server is not None:
        ops = Table(title=f"operations at {server['url']} (server RSS "
                          f"{_mib(server['rss_bytes'])})")
        for col in ("operation", "calls", "errors", "p50 ms", "p95 ms"):
            ops.add_column(col, justify="left" if col == "operation" else "right")
        for name, o in server["operations"].items():
            ops.add_row(name, str(o["count"]), str(o["error_count"]), _ms(o["p50"]),
                        _ms(o["p95"]))
        parts.append(ops)
    return Group(*parts)


@app.command()
def monitor(
    interval: float = typer.Option(2.0, "--interval", min=0.1, help="Seconds between readings."),
    count: int = typer.Option(0, "--count", min=0, help="Readings to take (0: until Ctrl-C)."),
    agent_id: str | None = typer.Option(None, "--agent", help="Count only this agent's rows."),
    url: str | None = typer.Option(None, "--url", help=(
        "A running `agentmem serve-metrics` endpoint (http://host:port/metrics) to read "
        "operation latencies and counts from.")),
    as_json: bool = JSON_OPT,
) -> None:
    """Store sizes, process RSS and (with --url) operation latencies, refreshed live;
    --json prints one JSON object per reading (--count 1 --json: one snapshot)."""
    with open_memory() as memory:
        try:
            shared_runner().run(memory.backend.check(memory.info))
            taken = 0
            if as_json:
                while True:
                    print(json.dumps(_snapshot(memory, agent_id, url)), flush=True)
                    taken += 1
                    if taken == count:
                        return
                    time.sleep(interval)
            with Live(console=console, auto_refresh=False) as live:
                while True:
                    live.update(_render(_snapshot(memory, agent_id, url)), refresh=True)
                    taken += 1
                    if taken == count:
                        return
                    time.sleep(interval)
        except ImportError as exc:
            raise fail(exc) from exc
        except KeyboardInterrupt:
            return


def _stop(signum: int, frame: object) -> NoReturn:
    raise KeyboardInterrupt  # SIGTERM: close the memory as Ctrl-C does


@app.command("serve-metrics")
def serve_metrics(
    host: str = typer.Option("127.0.0.1", "--host", help="Address to listen on."),
    port: int = typer.Option(9464, "--port", min=0, max=65535, help="Port (0: any free one)."),
    size_ttl: float = typer.Option(15.0, "--size-ttl", min=0.0, help=(
        "Seconds a reading of the store sizes is reused across scrapes.")),
    as_json: bool = JSON_OPT,
) -> None:
    """Serve /metrics (Prometheus text: operations, store sizes, RSS) and /healthz (200 when
    the stores answer, 503 and the error otherwise) until interrupted."""
    try:
        from ..ops.exposition import serve
        from ..ops.metrics import Metrics
    except ImportError as exc:
        raise fail(exc) from exc

    def ready(bound_host: str, bound_port: int) -> None:
        where = f"http://{bound_host}:{bound_port}"
        if as_json:
            print(json.dumps({"serving": where, "metrics": f"{where}/metrics",
                              "healthz": f"{where}/healthz"}), file=sys.stderr, flush=True)
        else:
            err_console.print(f"serving {where}/metrics and {where}/healthz (Ctrl-C stops)")

    signal.signal(signal.SIGTERM, _stop)
    with open_memory() as memory:
        memory.metrics = memory.metrics or Metrics()
        try:
            serve(memory, host, port, ready, size_ttl=size_ttl)
        except OSError as exc:
            raise fail(ConfigError(f"cannot listen on {host}:{port}: {exc}; pick another "
                                     "--port or --host")) from exc
        except KeyboardInterrupt:
            return
