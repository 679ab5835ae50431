"""The ``agentmem`` command: demo, doctor, migrate, stats, reindex, optimize, import, bench."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import logging
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import typer
from rich.console import Console
from rich.table import Table

from .errors import AgentMemError
from .importers import Layout, PGVectorStoreColumns, SourceKind
from .memory import HybridMemory
from .models import MemoryType
from .retrieval import RetrievalConfig
from .settings import AgentMemSettings, load_settings

__all__ = ["app"]

app = typer.Typer(help="Long-term memory for LLM agents.", no_args_is_help=True,
                  add_completion=False)
console = Console()
JSON_OPT = typer.Option(False, "--json", help="Print machine-readable JSON.")


def _fail(exc: Exception, code: int = 1) -> typer.Exit:
    console.print(f"[bold red]error:[/] {type(exc).__name__}: {exc}")
    return typer.Exit(code)


@contextmanager
def _memory(retrieval: RetrievalConfig | None = None,
            **overrides: Any) -> Iterator[HybridMemory]:
    """The configured memory (settings ``overrides`` applied), closed afterwards; errors
    exit 2 (settings) or 1 (use)."""
    try:
        memory = HybridMemory.from_settings(load_settings(**overrides), retrieval=retrieval)
    except (AgentMemError, ImportError) as exc:
        raise _fail(exc, 2) from exc
    try:
        yield memory
    except AgentMemError as exc:
        raise _fail(exc) from exc
    finally:
        memory.close()


@app.callback()
def main(verbose: bool = typer.Option(False, "--verbose", "-v", help="Log warnings.")) -> None:
    logging.basicConfig(level=logging.INFO if verbose else logging.ERROR,
                        format="%(levelname)s %(name)s: %(message)s")


# -- doctor ---------------------------------------------------------------------------


@dataclass
class Check:
    name: str
    ok: bool
    detail: str


async def _probe(name: str, checks: list[Check],
                 fn: Callable[[], Awaitable[str]]) -> bool:
    try:
        checks.append(Check(name, True, await fn()))
        return True
    except (AgentMemError, ImportError, OSError) as exc:
        checks.append(Check(name, False, f"{type(exc).__name__}: {exc}"))
        return False


async def _doctor(settings: AgentMemSettings) -> list[Check]:
    from .backends.base import StoreInfo
    from .embeddings import embedder_from_spec

    checks: list[Check] = []
    mode = settings.resolved_mode
    checks.append(Check("mode", True, mode))
    info: StoreInfo | None = None

    async def embedder() -> str:
        nonlocal info
        emb = embedder_from_spec(settings.embeddings)
        vec = await emb.aembed_query("agentmem doctor probe")
        if len(vec) != emb.dimension:
            raise AgentMemError(f"returned {len(vec)} numbers, expected {emb.dimension}")
        info = StoreInfo(emb.model_id, emb.dimension)
        return f"{emb.model_id}, dimension {emb.dimension}"

    await _probe("embedder", checks, embedder)

    if mode in ("pgvector", "hybrid"):
        from .backends.postgres import PostgresBackend
        from .factory import postgres_from_settings

        pg: PostgresBackend | None = None
        facts: dict[str, Any] = {}

        async def reach() -> str:
            nonlocal pg, facts
            pg, embedded = postgres_from_settings(settings, connect_timeout=5)
            if embedded and info is not None:
                await pg.init(info)  # the embedded store initialises itself on first use
            facts = await pg.describe()
            return f"PostgreSQL {facts['server_version']} at {pg.location}"

        if await _probe("postgres", checks, reach) and pg is not None:
            async def pgvector() -> str:
                if not facts["pgvector_version"]:
                    raise AgentMemError("the vector extension is not installed in this "
                                        "database: run `agentmem migrate` as a superuser")
                return f"pgvector {facts['pgvector_version']}"

            async def schema() -> str:
                if facts["schema_version"] < facts["schema_expected"]:
                    raise AgentMemError(f"schema version {facts['schema_version']}, need "
                                        f"{facts['schema_expected']}: run `agentmem migrate`")
                if info is not None:
                    await pg.check(info)
                return f"version {facts['schema_version']}, built with {facts['model_id']}"

            async def indexes() -> str:
                if facts["missing_indexes"]:
                    raise AgentMemError(f"missing: {', '.join(facts['missing_indexes'])}; "
                                        "run `agentmem migrate`")
                return ", ".join(i for i in facts["indexes"])

            await _probe("pgvector", checks, pgvector)
            await _probe("schema", checks, schema)
            await _probe("indexes", checks, indexes)
            await pg.close()

    if mode in ("chroma", "hybrid"):
        from .factory import chroma_from_settings

        chroma, chroma_embedded = chroma_from_settings(settings)

        async def heartbeat() -> str:
            beat = await chroma.heartbeat()
            return f"Chroma {await chroma.server_version()} at {chroma.location}, heartbeat {beat}"

        if await _probe("chroma", checks, heartbeat) and info is not None:
            async def registry() -> str:
                if mode == "hybrid" or chroma_embedded:
                    await chroma.init(info)
                else:
                    await chroma.check(info)
                return f"built with {info.model_id}, dimension {info.dimension}"

            await _probe("chroma index", checks, registry)
        await chroma.close()
    return checks


@app.command()
def doctor(as_json: bool = JSON_OPT) -> None:
    """Check every configured backend and the embedder; exit 1 if anything fails."""
    try:
        settings = load_settings()
    except AgentMemError as exc:
        raise _fail(exc, 2) from exc
    checks = asyncio.run(_doctor(settings))
    if as_json:
        print(json.dumps([asdict(c) for c in checks], indent=2))
    else:
        table = Table(title="agentmem doctor")
        for col in ("check", "status", "detail"):
            table.add_column(col)
        for c in checks:
            table.add_row(c.name, "[green]ok[/]" if c.ok else "[bold red]FAIL[/]", c.detail)
        console.print(table)
    if not all(c.ok for c in checks):
        raise typer.Exit(1)


# -- data commands --------------------------------------------------------------------


@app.command()
def migrate() -> None:
    """Create or upgrade the schema and record the embedder (safe to repeat)."""
    with _memory() as memory:
        memory.init()
        console.print(f"[green]schema ready[/] ({memory.mode} mode, {memory.embedder.model_id}, "
                      f"dimension {memory.embedder.dimension})")


@app.command()
def stats(agent_id: str = typer.Argument(..., help="Whose memories to count."),
          as_json: bool = JSON_OPT) -> None:
    """Memories per type, conversation turns and pending index work for one agent."""
    with _memory() as memory:
        s = memory.stats(agent_id)
    if as_json:
        print(s.model_dump_json(indent=2))
        return
    table = Table(title=f"memories of {agent_id}")
    table.add_column("kind")
    table.add_column("count", justify="right")
    for kind, n in s.by_type.items():
        table.add_row(kind, str(n))
    table.add_row("[bold]total[/]", str(s.total))
    table.add_row("turns", f"{s.turns} in {s.sessions} sessions")
    table.add_row("waiting for index", str(s.pending_index))
    console.print(table)


@app.command()
def reindex(agent_id: str | None = typer.Option(None, "--agent", help="Only this agent."),
            as_json: bool = JSON_OPT) -> None:
    """Rebuild the Chroma index from PostgreSQL (hybrid mode)."""
    with _memory() as memory:
        n = memory.reindex(agent_id)
    if as_json:
        print(json.dumps({"indexed": n, "agent_id": agent_id}))
    else:
        console.print(f"[green]indexed {n} memories[/]")


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
    from .ops.optimize import optimize_configured

    try:
        report = asyncio.run(optimize_configured(
            load_settings(), apply=apply, agent_id=agent_id, min_rows=min_rows, m=m,
            ef_construction=ef_construction, target_recall=target_recall))
    except (AgentMemError, ImportError) as exc:
        raise _fail(exc) from exc
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


FROM_OPT = typer.Option(..., "--from", help="The kind of store to read.")
MEMORY_TYPE_OPT = typer.Option(MemoryType.SEMANTIC, "--memory-type",
                               help="The type of the imported memories.")
LAYOUT_OPT = typer.Option(Layout.AUTO, "--layout", help=(
    "langchain-postgres only: auto looks the collection up among PGVector's collections and "
    "as a PGVectorStore table; name the layout when both exist."))


@app.command("import")
def import_(
    source_kind: SourceKind = FROM_OPT,
    location: str = typer.Argument(..., metavar="URL_OR_PATH", help=(
        "langchain-postgres: a postgresql:// (or postgresql+psycopg://) URL; "
        "chroma: an http(s)://HOST:PORT server or a persist directory.")),
    collection: str = typer.Option(..., "--collection", help=(
        "A PGVector collection name, a PGVectorStore table (table or schema.table), "
        "or a Chroma collection.")),
    agent_id: str = typer.Option(..., "--agent", help="Whose memories the records become."),
    memory_type: MemoryType = MEMORY_TYPE_OPT,
    batch_size: int = typer.Option(500, "--batch-size", min=1, max=10_000,
                                   help="Records read and written per atomic batch."),
    same_model: bool = typer.Option(False, "--same-model", help=(
        "Assert the source was embedded with agentmem's embedder: its vectors are copied "
        "when the dimensions match (otherwise the text is re-embedded).")),
    skip_invalid: bool = typer.Option(False, "--skip-invalid", help=(
        "Skip (and count) records that cannot become memories, e.g. empty text, "
        "instead of failing.")),
    layout: Layout = LAYOUT_OPT,
    id_column: str = typer.Option("langchain_id", "--id-column", help="PGVectorStore only."),
    content_column: str = typer.Option("content", "--content-column",
                                       help="PGVectorStore only."),
    embedding_column: str = typer.Option("embedding", "--embedding-column",
                                         help="PGVectorStore only."),
    metadata_json_column: str = typer.Option("langchain_metadata", "--metadata-json-column",
                                             help="PGVectorStore only."),
    as_json: bool = JSON_OPT,
) -> None:
    """Copy a LangChain store (langchain-postgres or Chroma) into an agent's memories.

    Ids, texts and metadata are kept; a re-run upserts the same ids, never duplicates.
    """
    from rich.markup import escape

    from .importers import ImportReport, import_records, open_chroma, open_langchain_postgres

    progress, advance = _progress_bar("importing", disable=as_json)
    with _memory() as memory:
        if source_kind is SourceKind.CHROMA:
            opened: Any = open_chroma(location, collection)
        else:
            opened = open_langchain_postgres(
                location, collection, layout=layout, columns=PGVectorStoreColumns(
                    id_column, content_column, embedding_column, metadata_json_column))
        with opened as source, progress:
            report: ImportReport = import_records(
                memory, source, agent_id, memory_type=memory_type, batch_size=batch_size,
                same_model=same_model, skip_invalid=skip_invalid, progress=advance)
    if as_json:
        print(json.dumps(report.to_dict(), indent=2))
    else:
        batches = f"{report.batches} batch{'es' if report.batches != 1 else ''}"
        console.print(f"[green]imported {report.imported}[/] of {report.source_count} records "
                      f"from the {escape(report.source)} into {report.memory_type} memories of "
                      f"{escape(report.agent_id)} ({batches}, {report.seconds:.1f}s)")
        console.print(f"vectors: {escape(report.vectors_reason)}")
        if report.skipped:
            console.print(f"[yellow]skipped {report.skipped} invalid records[/]: "
                          + escape("; ".join(report.skipped_examples)))
    if report.problem:
        if not as_json:
            console.print(f"[bold red]count check failed:[/] {escape(report.problem)}")
        raise typer.Exit(1)
    if not as_json:
        console.print(f"count check: {report.source_count} in the source = {report.arrived} "
                      f"arrived + {report.skipped} skipped")


def _progress_bar(label: str, *, disable: bool) -> tuple[Any, Callable[[int, int], None]]:
    """A progress bar and the ``advance(done, total)`` callback that drives it."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    progress = Progress(TextColumn(label), BarColumn(), MofNCompleteColumn(),
                        TimeElapsedColumn(), console=console, disable=disable)
    task: list[Any] = []

    def advance(done: int, total: int) -> None:
        if not task:
            task.append(progress.add_task(label, total=total))
        progress.update(task[0], completed=done, total=total)

    return progress, advance


@app.command()
def cleanup(
    agent_id: str | None = typer.Option(None, "--agent", help="Only this agent (default: all)."),
    dry_run: bool = typer.Option(False, "--dry-run", help="Count expired memories, delete none."),
    archive: bool = typer.Option(False, "--archive", help="Move them to the archive instead."),
    as_json: bool = JSON_OPT,
) -> None:
    """Delete (or archive) expired memories; exact counts per agent and type."""
    with _memory() as memory:
        report = memory.cleanup(agent_id, dry_run=dry_run, archive=archive)
    if as_json:
        print(json.dumps({**asdict(report), "total": report.total}, indent=2))
        return
    verb = "would remove" if dry_run else "archived" if archive else "deleted"
    table = Table(title=f"{verb} {report.total} expired memories")
    for column in ("agent", "type", "memories"):
        table.add_column(column, justify="right" if column == "memories" else "left")
    for agent, types in report.by_agent.items():
        for kind, n in types.items():
            table.add_row(agent, kind, str(n))
    console.print(table)


@app.command()
def consolidate(
    agent_id: str = typer.Option(..., "--agent", help="Whose episodes to consolidate."),
    similarity: float = typer.Option(0.75, "--similarity", min=-1.0, max=1.0,
                                     help="Cosine to a group's centroid to join it."),
    min_group: int = typer.Option(3, "--min-group", min=2, help="Smallest group consolidated."),
    since_days: float | None = typer.Option(30.0, "--since-days", min=0.001, help=(
        "Only episodes this recent; --all-time for every one.")),
    all_time: bool = typer.Option(False, "--all-time", help="Consider every episode."),
    sources: str = typer.Option("lower", "--sources", help=(
        "What becomes of the sources: keep, lower (importance halved) or expire (in 7 days).")),
    dry_run: bool = typer.Option(False, "--dry-run", help="Report the groups, write nothing."),
    as_json: bool = JSON_OPT,
) -> None:
    """Turn groups of similar recent episodes into semantic memories (extractive)."""
    from datetime import timedelta

    from .lifecycle import ConsolidationPolicy

    try:
        policy = ConsolidationPolicy(
            min_group=min_group, similarity=similarity, sources=sources,  # type: ignore[arg-type]
            since=None if all_time or since_days is None else timedelta(days=since_days))
    except AgentMemError as exc:
        raise _fail(exc, 2) from exc
    progress, advance = _progress_bar("consolidating", disable=as_json)
    with _memory() as memory, progress:
        report = memory.consolidate(agent_id, policy=policy, dry_run=dry_run, progress=advance)
    if as_json:
        print(json.dumps(asdict(report), indent=2))
        return
    verb = "would consolidate" if dry_run else "consolidated"
    console.print(f"[green]{verb} {report.sources}[/] of {report.considered} episodes of "
                  f"{agent_id} in {report.groups} groups: {len(report.created)} new semantic "
                  f"memories, {report.repaired} repaired")


@app.command()
def demo() -> None:
    """Two agents remember, recall and converse, on the configured (default: embedded) store."""
    from .demo import run_demo

    with _memory() as memory:
        run_demo(memory, console)


# -- bench ----------------------------------------------------------------------------

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

    from .evaluation import locomo

    changes: dict[str, Any] = {name: value for name, value in (
        ("lexical_weight", lexical_weight), ("context_turns", context_turns),
        ("neighbour_weight", neighbour_weight), ("session_weight", session_weight))
        if value is not None}
    try:
        ks = [int(x) for x in k.split(",") if x.strip()]
        conversations = locomo.load(data)
        retrieval = dataclasses.replace(RetrievalConfig(), **changes)
    except (ValueError, AgentMemError) as exc:
        raise _fail(exc, 2) from exc
    home = Path(tempfile.mkdtemp(prefix=f"agentmem-locomo-{os.getpid()}-"))
    atexit.register(shutil.rmtree, home, True)  # runs after the embedded server has stopped
    total = sum(len(c.questions) for c in conversations)
    with _memory(home=home, embeddings=embeddings, postgres_url=None, chroma_url=None,
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


if __name__ == "__main__":  # python -m agentmem.cli
    app()
