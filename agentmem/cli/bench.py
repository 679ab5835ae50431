"""``agentmem bench``: retrieval benchmarks on public data sets."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import typer
from rich.table import Table

from ..errors import AgentMemError
from ..retrieval import RetrievalConfig
from ._app import JSON_OPT, ExitCode, app, console, fail, open_memory

__all__: list[str] = []

bench_app = typer.Typer(help="Retrieval benchmarks on public data sets.", no_args_is_help=True)
app.add_typer(bench_app, name="bench")
MINILM = "sentence-transformers:all-MiniLM-L6-v2"


@bench_app.command("locomo")
def bench_locomo(
    data: str = typer.Option(..., "--data", help="A LoCoMo JSON file (e.g. locomo10.json)."),
    k: str = typer.Option("1,5,10,20", "--k", help="Comma-separated cut-offs."),
    embeddings: str = typer.Option(MINILM, "--embeddings", help="Embeddings spec."),
    lexical_weight: float | None = typer.Option(
        None, "--lexical-weight", help="BM25 share of the fused score (0: dense only)."),
    context_turns: int | None = typer.Option(
        None, "--context-turns", help="Preceding turns keyword-indexed with each turn."),
    neighbour_weight: float | None = typer.Option(
        None, "--neighbour-weight", help="Pull of the best adjacent hit of a session."),
    session_weight: float | None = typer.Option(
        None, "--session-weight", help="Pull of the best hit of a session."),
    as_json: bool = JSON_OPT,
) -> None:
    """Turn- and session-level evidence recall@k of ``recall`` on LoCoMo, default settings.

    Runs on a fresh embedded store in a temporary directory (removed at exit), whatever
    AGENTMEM_* says, so nothing of yours is read or written. The options change one
    retrieval signal each (see ``RetrievalConfig``), for ablations.
    """
    import atexit
    import os
    import shutil
    import tempfile

    from rich.progress import Progress

    from ..evaluation import locomo

    changes: dict[str, Any] = {name: value for name, value in (
        ("lexical_weight", lexical_weight), ("context_turns", context_turns),
        ("neighbour_weight", neighbour_weight), ("session_weight", session_weight))
        if value is not None}
    try:
        ks = [int(x) for x in k.split(",") if x.strip()]
        conversations = locomo.load(data)
        retrieval = dataclasses.replace(RetrievalConfig(), **changes)
    except (ValueError, AgentMemError) as exc:
        raise fail(exc, ExitCode.USAGE) from exc
    home = Path(tempfile.mkdtemp(prefix=f"agentmem-locomo-{os.getpid()}-"))
    atexit.register(shutil.rmtree, home, True)  # runs after the embedded server has stopped
    total = sum(len(c.questions) for c in conversations)
    with open_memory(home=home, embeddings=embeddings, postgres_url=None, chroma_url=None,
                 mode=None, retrieval=retrieval) as memory, \
            Progress(console=console, transient=True, disable=as_json) as bar:
        task = bar.add_task("asking", total=total)
        report = locomo.run(memory, conversations, ks, progress=lambda n: bar.advance(task, n))
    if as_json:
        typer.echo(json.dumps(report.as_json()))
        return
    for title, overall, rows in (("turn-level evidence recall@k (%)", report.turn, report.by_category),
                                 ("session-level recall@k (%)", report.session,
                                  report.session_by_category)):
        table = Table(title=f"{title}, {report.questions} questions")
        table.add_column("category")
        for cut in report.ks:
            table.add_column(f"R@{cut}", justify="right")
        for name, values in [*rows.items(), ("overall", overall)]:
            table.add_row(name, *[f"{values[cut]:.1f}" for cut in report.ks])
        console.print(table)
