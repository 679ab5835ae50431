"""Backup and restore: a store's memories (with their vectors), links and chat history.

A backup is JSON lines, gzip-compressed when the name ends in ``.gz``. The first line is
the header (format, agentmem version, the embedder's model id and dimension, the time and
the agent, if only one); then, agent by agent, its memories with their vectors, the links
between them and its conversation turns, session by session; the last line counts what
came before. Any backend reads and writes the format, so a backup taken in Chroma mode
restores into pgvector mode and back.

An export is written to ``NAME.partial`` and renamed when complete, so a failed export
never leaves a file that looks whole. A restore reads the file twice: once to check every
line and the final counts, so a truncated or corrupt backup writes nothing, and once to
write, in atomic batches. Re-running a restore is safe: memories are upserted by id, links
are set, and each session's history is replaced by the backup's.
"""

from __future__ import annotations

import asyncio
import gzip
import json
import os
import time
from collections.abc import Awaitable, Callable, Iterator, Sequence
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import IO, Any

from pydantic import ValidationError

from ..backends.base import (
    AgentList,
    Backend,
    ExpiredDeletion,
    LinkStore,
    Progress,
    Vectors,
    VectorScan,
)
from ..embeddings import Embedder
from ..errors import ConfigError, InvalidInput
from ..models import ChatTurn, Memory, MemoryLink, MemoryType

__all__ = ["FORMAT", "BackupReport", "export_backup", "restore_backup"]

FORMAT = 1
_KIND = "agentmem-backup"

Store = Callable[[list[Memory], Vectors], Awaitable[None]]


@dataclass
class BackupReport:
    """What an export wrote or a restore read, and how the vectors were handled."""

    path: str
    agent_id: str | None = None
    agents: int = 0
    memories: int = 0
    links: int = 0
    links_skipped: int = 0  # a restore's: asked to, or to a memory that has expired
    turns: int = 0
    sessions: int = 0
    model_id: str = ""
    dimension: int = 0
    vectors: str = "copied"  # or "re-embedded" (a restore under another embedder)
    vectors_reason: str = ""
    seconds: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _open(path: Path, mode: str, *, gz: bool | None = None) -> IO[str]:
    """The file as text, gzip-compressed when ``gz`` (by default: when named ``*.gz``)."""
    if path.name.endswith(".gz") if gz is None else gz:
        return gzip.open(path, mode + "t", encoding="utf-8")  # type: ignore[return-value]
    return open(path, mode, encoding="utf-8", newline="\n")


def _line(record: dict[str, Any]) -> str:
    return json.dumps(record, ensure_ascii=False, separators=(",", ":")) + "\n"


# -- export ---------------------------------------------------------------------------------


async def _stored_total(backend: Backend, agents: Sequence[str]) -> int:
    """Memories the export will visit, expired ones included (for the progress bar)."""
    total = 0
    for agent in agents:
        total += sum((await backend.count(agent, memory_types=list(MemoryType))).values())
    if isinstance(backend, ExpiredDeletion):
        wanted = set(agents)
        expired = await backend.expired_counts(agents[0] if len(agents) == 1 else None)
        total += sum(n for (a, _), n in expired.items() if a in wanted)
    return total


async def export_backup(backend: Backend, embedder: Embedder, path: str | os.PathLike[str], *,
                        agent_id: str | None = None, batch_size: int = 1000,
                        progress: Progress | None = None) -> BackupReport:
    """Write every memory (expired ones too, with vectors), link and turn of one agent or all."""
    if not isinstance(backend, VectorScan) or not isinstance(backend, AgentList):
        raise ConfigError(f"{backend.mode} mode cannot be exported: it cannot list its "
                          "memories with their vectors")
    if batch_size < 1:
        raise InvalidInput(f"batch_size must be positive, got {batch_size}")
    started = time.monotonic()
    target = Path(path)
    partial = target.with_name(target.name + ".partial")
    report = BackupReport(path=str(target), agent_id=agent_id, model_id=embedder.model_id,
                          dimension=embedder.dimension)
    agents = [agent_id] if agent_id is not None else await backend.agents()
    total = await _stored_total(backend, agents) if progress else 0
    from .. import __version__  # the package's, read once it is initialised

    header = {"kind": _KIND, "format": FORMAT, "agentmem": __version__,
              "model_id": embedder.model_id, "dimension": embedder.dimension,
              "agent_id": agent_id, "created_at": datetime.now(timezone.utc).isoformat()}
    try:
        out = await asyncio.to_thread(_open, partial, "w", gz=target.name.endswith(".gz"))
    except OSError as exc:
        raise InvalidInput(f"cannot write the backup {target}: {exc.strerror or exc}; "
                           "choose a writable path") from exc
    try:
        await asyncio.to_thread(out.write, _line(header))
        if progress:
            progress(0, total)
        for agent in agents:
            lines = await _export_agent(backend, agent, batch_size, report, out)
            report.agents += lines > 0
            if progress:
                progress(report.memories, max(total, report.memories))
        end = {"end": {"memories": report.memories, "links": report.links,
                       "turns": report.turns}}
        await asyncio.to_thread(out.write, _line(end))
    except BaseException:
        await asyncio.to_thread(out.close)
        partial.unlink(missing_ok=True)  # never leave a file that looks like a backup
        raise
    await asyncio.to_thread(out.close)
    os.replace(partial, target)
    report.seconds = round(time.monotonic() - started, 3)
    return report


async def _export_agent(backend: Any, agent: str, batch_size: int, report: BackupReport,
                        out: IO[str]) -> int:
    """One agent's memories, then their links, then its turns; returns the lines written."""
    written = 0
    ids: list[str] = []
    async for memories, vectors in backend.scan(agent, batch_size=batch_size):
        chunk = "".join(_line({"memory": m.model_dump(mode="json"), "vector": v})
                        for m, v in zip(memories, vectors, strict=True))
        await asyncio.to_thread(out.write, chunk)
        ids.extend(m.id for m in memories)
        report.memories += len(memories)
        written += len(memories)
    if isinstance(backend, LinkStore):
        for start in range(0, len(ids), batch_size):
            batch = set(ids[start:start + batch_size])
            links = [link for link in await backend.links(agent, list(batch))
                     if link.source_id in batch]  # each link once: with its source
            await asyncio.to_thread(out.write, "".join(
                _line({"link": link.model_dump(mode="json"), "agent_id": agent})
                for link in links))
            report.links += len(links)
            written += len(links)
    for session in await backend.sessions(agent):
        turns = await backend.history(agent, session)
        await asyncio.to_thread(out.write, "".join(
            _line({"turn": t.model_dump(mode="json")}) for t in turns))
        report.turns += len(turns)
        report.sessions += 1
        written += len(turns)
    return written


# -- reading --------------------------------------------------------------------------------

Record = Memory | tuple[str, MemoryLink] | ChatTurn


def _records(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    """(line number, parsed object) for each line; a line that is not JSON is refused."""
    try:
        source = _open(path, "r")
    except FileNotFoundError as exc:
        raise InvalidInput(f"no backup at {path}: pass the file `agentmem export` wrote") from exc
    with source:
        try:
            for number, text in enumerate(source, 1):
                try:
                    record = json.loads(text)
                except json.JSONDecodeError as exc:
                    raise InvalidInput(f"{path}, line {number}: not JSON ({exc.msg})") from exc
                if not isinstance(record, dict):
                    raise InvalidInput(f"{path}, line {number}: not a JSON object")
                yield number, record
        except (OSError, EOFError, UnicodeDecodeError) as exc:  # gzip: truncated or not gzip
            raise InvalidInput(f"{path} cannot be read to the end ({exc}): the backup is "
                               "damaged or truncated; restore from another copy") from exc


def _parse(path: Path, number: int, record: dict[str, Any], dimension: int
           ) -> tuple[Record, list[float] | None]:
    try:
        if "memory" in record:
            vector = record.get("vector")
            if not isinstance(vector, list) or len(vector) != dimension \
                    or not all(isinstance(x, (int, float)) for x in vector):
                raise InvalidInput(f"{path}, line {number}: the vector is not {dimension} numbers")
            return Memory.model_validate(record["memory"]), [float(x) for x in vector]
        if "link" in record:
            return (str(record["agent_id"]), MemoryLink.model_validate(record["link"])), None
        if "turn" in record:
            return ChatTurn.model_validate(record["turn"]), None
    except (ValidationError, KeyError) as exc:
        raise InvalidInput(f"{path}, line {number}: not a valid record ({exc})") from exc
    raise InvalidInput(f"{path}, line {number}: unknown record (keys {sorted(record)})")


@dataclass
class _Contents:
    header: dict[str, Any]
    memories: int = 0
    links: int = 0
    turns: int = 0


def _verify(path: Path) -> _Contents:
    """Check every line and the closing counts before anything is written."""
    lines = _records(path)
    first = next(lines, None)
    if first is None or first[1].get("kind") != _KIND:
        raise InvalidInput(f"{path} is not an agentmem backup (its first line is not the header)")
    header = first[1]
    if header.get("format") != FORMAT:
        raise InvalidInput(f"{path} is backup format {header.get('format')!r}; this agentmem "
                           f"reads format {FORMAT}: restore it with the version that wrote it")
    contents = _Contents(header)
    dimension = int(header["dimension"])
    finished: set[tuple[str, str]] = set()
    session: tuple[str, str] | None = None
    for number, record in lines:
        if "end" in record:
            counts = record["end"]
            found = {"memories": contents.memories, "links": contents.links,
                     "turns": contents.turns}
            if counts != found:
                raise InvalidInput(f"{path}: the backup says {counts} but holds {found}")
            if next(lines, None) is not None:
                raise InvalidInput(f"{path}, line {number + 1}: data after the end record")
            return contents
        item, _ = _parse(path, number, record, dimension)
        if isinstance(item, Memory):
            contents.memories += 1
        elif isinstance(item, ChatTurn):
            contents.turns += 1
            key = (item.agent_id, item.session_id)
            if key != session:
                if key in finished:
                    raise InvalidInput(f"{path}, line {number}: session {key[1]!r} of "
                                       f"{key[0]!r} is split; a backup keeps each together")
                if session is not None:
                    finished.add(session)
                session = key
        else:
            contents.links += 1
    raise InvalidInput(f"{path} has no end record: the backup is truncated (an export that "
                       "did not finish); restore from a complete copy")


# -- restore --------------------------------------------------------------------------------


async def restore_backup(backend: Backend, embedder: Embedder, store: Store,
                         path: str | os.PathLike[str], *, agent_id: str | None = None,
                         batch_size: int = 500, reembed: bool = False, skip_links: bool = False,
                         progress: Progress | None = None) -> BackupReport:
    """Write a backup's memories, links and turns (of one agent, or all) into ``backend``.

    ``store`` upserts a batch of memories as they are. Vectors are copied when the backup
    was made with this embedder (same model id and dimension) and ``reembed`` is False;
    otherwise every memory is embedded again from its text.
    """
    if batch_size < 1:
        raise InvalidInput(f"batch_size must be positive, got {batch_size}")
    started = time.monotonic()
    source = Path(path)
    contents = await asyncio.to_thread(_verify, source)
    header = contents.header
    if contents.links and not skip_links and not isinstance(backend, LinkStore):
        raise ConfigError(f"the backup holds {contents.links} links and {backend.mode} mode "
                          "cannot store links: restore into pgvector or hybrid mode, or skip "
                          "them (skip_links=True, --skip-links)")
    same = header["model_id"] == embedder.model_id and header["dimension"] == embedder.dimension
    copy = same and not reembed
    report = BackupReport(path=str(source), agent_id=agent_id, model_id=embedder.model_id,
                          dimension=embedder.dimension,
                          vectors="copied" if copy else "re-embedded")
    report.vectors_reason = (
        f"copied: the backup was made with {embedder.model_id} (dimension {embedder.dimension})"
        if copy else f"re-embedded with {embedder.model_id}: " + (
            "asked for" if same else
            f"the backup was made with {header['model_id']} (dimension {header['dimension']})"))
    writer = _Writer(backend, embedder, store, copy, batch_size, skip_links, report)
    total = contents.memories + contents.links + contents.turns
    if progress:
        progress(0, total)
    done = 0
    lines = _records(source)
    await asyncio.to_thread(next, lines)  # the header, checked above
    while True:
        chunk = await asyncio.to_thread(_take, lines, batch_size)
        if not chunk:
            break
        for number, record in chunk:
            if "end" in record:
                continue
            item, vector = _parse(source, number, record, int(header["dimension"]))
            await writer.add(item, vector, agent_id)
        done += len(chunk)
        if progress:
            progress(min(done, total), total)
    await writer.flush()
    report.seconds = round(time.monotonic() - started, 3)
    return report


def _take(lines: Iterator[tuple[int, dict[str, Any]]], n: int) -> list[tuple[int, dict[str, Any]]]:
    out = []
    for item in lines:
        out.append(item)
        if len(out) == n:
            break
    return out


class _Writer:
    """Batches what a restore reads: memories before their links, a session's turns at once."""

    def __init__(self, backend: Backend, embedder: Embedder, store: Store, copy: bool,
                 batch_size: int, skip_links: bool, report: BackupReport) -> None:
        self.backend, self.embedder, self.store = backend, embedder, store
        self.copy, self.batch_size, self.skip_links, self.report = copy, batch_size, skip_links, report
        self.memories: list[Memory] = []
        self.vectors: list[list[float]] = []
        self.links: list[tuple[str, MemoryLink]] = []
        self.turns: list[ChatTurn] = []
        self.agents: set[str] = set()
        self.expired: set[tuple[str, str]] = set()  # links may only join live memories
        self.now = datetime.now(timezone.utc)

    async def add(self, item: Record, vector: list[float] | None, only: str | None) -> None:
        owner = item.agent_id if isinstance(item, (Memory, ChatTurn)) else item[0]
        if only is not None and owner != only:
            return
        self.agents.add(owner)
        self.report.agents = len(self.agents)
        if isinstance(item, Memory):
            await self._flush_turns()
            if not item.alive_at(self.now):
                self.expired.add((item.agent_id, item.id))
            self.memories.append(item)
            self.vectors.append(vector or [])
            if len(self.memories) >= self.batch_size:
                await self._flush_memories()
        elif isinstance(item, ChatTurn):
            await self._flush_memories()
            await self._flush_links()
            if self.turns and (self.turns[0].agent_id, self.turns[0].session_id) != (
                    item.agent_id, item.session_id):
                await self._flush_turns()
            self.turns.append(item)
        else:
            await self._flush_memories()  # a link's ends come before it in the file
            agent, link = item
            if self.skip_links or {(agent, link.source_id), (agent, link.target_id)} & self.expired:
                self.report.links_skipped += 1
            else:
                self.links.append(item)
            if len(self.links) >= self.batch_size:
                await self._flush_links()

    async def flush(self) -> None:
        await self._flush_memories()
        await self._flush_links()
        await self._flush_turns()

    async def _flush_memories(self) -> None:
        if not self.memories:
            return
        memories, vectors = self.memories, self.vectors
        self.memories, self.vectors = [], []
        if not self.copy:
            vectors = await self.embedder.aembed_documents([m.content for m in memories])
        await self.store(memories, vectors)
        self.report.memories += len(memories)

    async def _flush_links(self) -> None:
        if not self.links:
            return
        by_agent: dict[str, list[MemoryLink]] = {}
        for agent, link in self.links:
            by_agent.setdefault(agent, []).append(link)
        self.links = []
        for agent, links in by_agent.items():
            await self.backend.link(agent, links)  # type: ignore[attr-defined]  # LinkStore, checked
            self.report.links += len(links)

    async def _flush_turns(self) -> None:
        if not self.turns:
            return
        turns, self.turns = self.turns, []
        await self.backend.replace_history(turns[0].agent_id, turns[0].session_id, turns)
        self.report.turns += len(turns)
        self.report.sessions += 1
