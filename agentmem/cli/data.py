"""The data commands: migrate, stats, reindex, export, import, cleanup, consolidate, demo."""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path
from typing import Any

import typer
from rich.table import Table

from ..errors import AgentMemError, InvalidInput
from ..importers import Layout, PGVectorStoreColumns, SourceKind
from ..models import MemoryType
from ._app import JSON_OPT, ExitCode, app, console, fail, open_memory, progress_bar

__all__: list[str] = []

@app.command()
def migrate(as_json: bool = JSON_OPT) -> None:
    """Create or upgrade the schema and record the embedder (safe to repeat)."""
    with open_memory() as memory:
        memory.init()
        facts = {"mode": memory.mode, "model_id": memory.embedder.model_id,
                 "dimension": memory.embedder.dimension, "location": memory.backend.location}
    if as_json:
        print(json.dumps({"schema": "ready", **facts}))
    else:
        console.print(f"[green]schema ready[/] ({facts['mode']} mode, {facts['model_id']}, "
                      f"dimension {facts['dimension']})")


@app.command()
def stats(agent_id: str = typer.Option(..., "--agent", help="Whose memories to count."),
          as_json: bool = JSON_OPT) -> None:
    """Memories per type, conversation turns and pending index work for one agent."""
    with open_memory() as memory:
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
    progress, advance = progress_bar("reindexing", disable=as_json)
    with open_memory() as memory, progress:
        n = memory.reindex(agent_id, progress=advance)
    if as_json:
        print(json.dumps({"indexed": n, "agent_id": agent_id}))
    else:
        console.print(f"[green]indexed {n} memories[/]")


FROM_OPT = typer.Option(SourceKind.BACKUP, "--from", help=(
    "What to read: a backup file of `agentmem export`, or a LangChain store."))
MEMORY_TYPE_OPT = typer.Option(MemoryType.SEMANTIC, "--memory-type",
                               help="The type of the imported memories.")
LAYOUT_OPT = typer.Option(Layout.AUTO, "--layout", help=(
    "langchain-postgres only: auto looks the collection up among PGVector's collections and "
    "as a PGVectorStore table; name the layout when both exist."))


@app.command()
def export(
    out: str = typer.Option(..., "--out", help="The backup file: FILE.jsonl, or FILE.jsonl.gz "
                            "to compress it."),
    agent_id: str | None = typer.Option(None, "--agent", help="Only this agent (default: all)."),
    batch_size: int = typer.Option(1000, "--batch-size", min=1, max=10_000,
                                   help="Memories read per batch."),
    as_json: bool = JSON_OPT,
) -> None:
    """Back up memories (with their vectors), links and chat history to a JSON-lines file.

    The file appears only once complete; `agentmem import FILE` restores it into any mode.
    """
    from rich.markup import escape

    progress, advance = progress_bar("exporting", disable=as_json)
    with open_memory() as memory, progress:
        report = memory.export(Path(out), agent_id, batch_size=batch_size, progress=advance)
    if as_json:
        print(json.dumps(report.to_dict(), indent=2))
    else:
        console.print(f"[green]exported {report.memories} memories[/], {report.links} links and "
                      f"{report.turns} turns in {report.sessions} sessions of {report.agents} "
                      f"agents to {escape(str(out))} ({report.seconds:.1f}s)")


@app.command("import")
def import_(
    source_kind: SourceKind = FROM_OPT,
    location: str = typer.Argument(..., metavar="FILE_URL_OR_PATH", help=(
        "backup: the file `agentmem export` wrote; "
        "langchain-postgres: a postgresql:// (or postgresql+psycopg://) URL; "
        "chroma: an http(s)://HOST:PORT server or a persist directory.")),
    collection: str | None = typer.Option(None, "--collection", help=(
        "LangChain stores (required there): a PGVector collection name, a PGVectorStore "
        "table (table or schema.table), or a Chroma collection.")),
    agent_id: str | None = typer.Option(None, "--agent", help=(
        "LangChain stores (required there): whose memories the records become. "
        "A backup: restore only this agent (default: all).")),
    memory_type: MemoryType = MEMORY_TYPE_OPT,
    batch_size: int = typer.Option(500, "--batch-size", min=1, max=10_000,
                                   help="Records read and written per atomic batch."),
    same_model: bool = typer.Option(False, "--same-model", help=(
        "LangChain stores: assert the source was embedded with agentmem's embedder: its "
        "vectors are copied when the dimensions match (otherwise the text is re-embedded).")),
    reembed: bool = typer.Option(False, "--reembed", help=(
        "A backup: embed every memory again, even when it was made with this embedder.")),
    skip_links: bool = typer.Option(False, "--skip-links", help=(
        "A backup: leave out its links (needed to restore one holding links into Chroma mode).")),
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
    """Restore a backup, or copy a LangChain store (langchain-postgres or Chroma) into an
    agent's memories.

    Ids are kept, so a re-run upserts the same memories, never duplicates.
    """
    if source_kind is SourceKind.BACKUP:
        _restore(Path(location), agent_id, batch_size, reembed, skip_links, as_json)
        return
    if collection is None or agent_id is None:
        missing = " and ".join(o for o, v in (("--collection", collection), ("--agent", agent_id))
                               if v is None)
        raise fail(InvalidInput(f"importing from {source_kind.value} needs {missing}"),
                   ExitCode.USAGE)
    _import_store(source_kind, location, collection, agent_id, memory_type, batch_size,
                  same_model, skip_invalid, layout, PGVectorStoreColumns(
                      id_column, content_column, embedding_column, metadata_json_column),
                  as_json)


def _restore(path: Path, agent_id: str | None, batch_size: int, reembed: bool,
             skip_links: bool, as_json: bool) -> None:
    from rich.markup import escape

    progress, advance = progress_bar("restoring", disable=as_json)
    with open_memory() as memory, progress:
        report = memory.restore(path, agent_id, batch_size=batch_size, reembed=reembed,
                                skip_links=skip_links, progress=advance)
    if as_json:
        print(json.dumps(report.to_dict(), indent=2))
        return
    console.print(f"[green]restored {report.memories} memories[/], {report.links} links and "
                  f"{report.turns} turns in {report.sessions} sessions of {report.agents} agents "
                  f"from {escape(str(path))} ({report.seconds:.1f}s)")
    console.print(f"vectors: {escape(report.vectors_reason)}")
    if report.links_skipped:
        console.print(f"[yellow]left out {report.links_skipped} links[/] (asked to, or to "
                      "memories that have expired)")


def _import_store(source_kind: SourceKind, location: str, collection: str, agent_id: str,
                  memory_type: MemoryType, batch_size: int, same_model: bool,
                  skip_invalid: bool, layout: Layout, columns: PGVectorStoreColumns,
                  as_json: bool) -> None:
    from rich.markup import escape

    from ..importers import ImportReport, import_records, open_chroma, open_langchain_postgres

    progress, advance = progress_bar("importing", disable=as_json)
    with open_memory() as memory:
        if source_kind is SourceKind.CHROMA:
            opened: Any = open_chroma(location, collection)
        else:
            opened = open_langchain_postgres(location, collection, layout=layout, columns=columns)
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


@app.command()
def cleanup(
    agent_id: str | None = typer.Option(None, "--agent", help="Only this agent (default: all)."),
    dry_run: bool = typer.Option(False, "--dry-run", help="Count expired memories, delete none."),
    archive: bool = typer.Option(False, "--archive", help="Move them to the archive instead."),
    as_json: bool = JSON_OPT,
) -> None:
    """Delete (or archive) expired memories; exact counts per agent and type."""
    progress, advance = progress_bar("cleaning up", disable=as_json or dry_run)
    with open_memory() as memory, progress:
        report = memory.cleanup(agent_id, dry_run=dry_run, archive=archive,
                                progress=None if dry_run else advance)
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

    from ..lifecycle import ConsolidationPolicy

    try:
        policy = ConsolidationPolicy(
            min_group=min_group, similarity=similarity, sources=sources,  # type: ignore[arg-type]
            since=None if all_time or since_days is None else timedelta(days=since_days))
    except AgentMemError as exc:
        raise fail(exc, ExitCode.USAGE) from exc
    progress, advance = progress_bar("consolidating", disable=as_json)
    with open_memory() as memory, progress:
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
    from ..demo import run_demo

    with open_memory() as memory:
        run_demo(memory, console)
