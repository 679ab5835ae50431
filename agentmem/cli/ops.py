"""The operator commands: optimize."""

from __future__ import annotations

import asyncio
import json

import typer
from rich.table import Table

from ..errors import AgentMemError
from ._app import JSON_OPT, app, console, fail, settings_or_exit

__all__: list[str] = []


@app.command()
def optimize(
    apply: bool = typer.Option(False, "--apply", help=(
        "Build the indexes and record ef_search (the embedded store is always applied).")),
    agent_id: str | None = typer.Option(None, "--agent", help="Only this agent, whatever its size."),
    min_rows: int = typer.Option(10_000, "--min-rows", min=1, help=(
        "Agents with at least this many memories get an ANN index.")),
    m: int = typer.Option(16, "--m", min=2, max=100, help="HNSW m (links per node)."),
    ef_construction: int = typer.Option(64, "--ef-construction", min=4, max=1000),
    target_recall: float = typer.Option(0.99, "--target-recall", min=0.5, max=1.0),
    as_json: bool = JSON_OPT,
) -> None:
    """Build and tune ANN indexes for large agents (dry run on a server unless --apply)."""
    from ..ops.optimize import optimize_configured

    try:
        report = asyncio.run(optimize_configured(
            settings_or_exit(), apply=apply, agent_id=agent_id, min_rows=min_rows, m=m,
            ef_construction=ef_construction, target_recall=target_recall))
    except (AgentMemError, ImportError) as exc:
        raise fail(exc) from exc
    if as_json:
        print(json.dumps(report.to_dict(), indent=2, default=str))
        return
    table = Table(title=f"agentmem optimize ({'applied' if report.applied else 'dry run'})")
    for col in ("agent", "rows", "action", "ef_search", "before p50 ms", "before recall",
                "after p50 ms", "after recall"):
        table.add_column(col)

    def fmt(x: float | None, spec: str) -> str:
        return "-" if x is None else format(x, spec)

    for a in report.agents:
        table.add_row(a.agent_id, str(a.rows), a.action, fmt(a.ef_search, "d"),
                      fmt(a.before_ms, ".2f"), fmt(a.before_recall, ".3f"),
                      fmt(a.after_ms, ".2f"), fmt(a.after_recall, ".3f"))
    console.print(table)
    console.print(f"memories table: {report.table.get('live')} rows, "
                  f"{report.table.get('dead')} dead, {report.table.get('bytes')} bytes; "
                  + ("vacuumed and analysed" if report.vacuumed else
                     "run with --apply to build, tune and VACUUM ANALYZE"))
