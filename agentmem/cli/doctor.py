"""``agentmem doctor``: the lab's troubleshooting list, read-only, with a fix for each failure.

It never creates anything: no data directory, no database, no schema. An embedded store
that does not exist yet is reported as such (it is created on first use).
"""

from __future__ import annotations

import asyncio
import json
import re
import shutil
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import typer
from rich.table import Table

from ..backends.base import StoreInfo
from ..errors import AgentMemError
from ..settings import AgentMemSettings
from ._app import JSON_OPT, ExitCode, app, console, settings_or_exit

__all__ = ["Check", "run_checks"]

MIN_FREE_BYTES = 1 << 30  # below 1 GiB free next to an embedded store, say so


@dataclass
class Check:
    """One line of the report: what was checked, whether it passed, and how to fix it."""

    name: str
    ok: bool
    detail: str
    hint: str = ""


class _Failed(Exception):
    """A check failed for a reason the doctor can name a fix for."""

    def __init__(self, detail: str, hint: str) -> None:
        super().__init__(detail)
        self.hint = hint


# Driver messages that mean "wrong credentials" or "no such database", not "unreachable".
_CREDENTIALS = re.compile(r"password authentication failed|no password supplied|"
                          r"role \S+ does not exist|authentication failed", re.I)
_NO_DATABASE = re.compile(r"database \S+ does not exist", re.I)


def _postgres_failure(exc: AgentMemError) -> tuple[str, str]:
    """The check a PostgreSQL connection error belongs to, and its fix."""
    text = f"{exc} {exc.__cause__ or ''}"
    if _CREDENTIALS.search(text):
        return "credentials", ("check the user and password in AGENTMEM_POSTGRES_URL (in "
                               "Kubernetes: the Secret the app reads)")
    if _NO_DATABASE.search(text):
        return "database", "create the database (createdb NAME) or fix the URL's path"
    return "connectivity", ("start PostgreSQL, or fix the host and port in "
                            "AGENTMEM_POSTGRES_URL; in Kubernetes check the Service and that a "
                            "NetworkPolicy lets this pod in")


class _Doctor:
    def __init__(self, settings: AgentMemSettings) -> None:
        self.settings = settings
        self.checks: list[Check] = []
        self.info: StoreInfo | None = None

    async def probe(self, name: str, fn: Callable[[], Awaitable[str]], hint: str = "") -> bool:
        try:
            self.checks.append(Check(name, True, await fn()))
            return True
        except _Failed as exc:
            self.checks.append(Check(name, False, str(exc), exc.hint))
        except (AgentMemError, ImportError, OSError) as exc:
            self.checks.append(Check(name, False, f"{type(exc).__name__}: {exc}", hint))
        return False

    def note(self, name: str, detail: str) -> None:
        self.checks.append(Check(name, True, detail))

    async def run(self) -> list[Check]:
        mode = self.settings.resolved_mode
        self.note("mode", mode)
        await self.probe("embedder", self.embedder, hint=(
            "set AGENTMEM_EMBEDDINGS (e.g. hashing:384, openai:text-embedding-3-small with "
            "OPENAI_API_KEY) or install the extra the message names"))
        await self.probe("disk", self.disk, hint="free some space or move AGENTMEM_HOME")
        if mode in ("pgvector", "hybrid"):
            await self.postgres()
        if mode in ("chroma", "hybrid"):
            await self.chroma()
        if mode == "hybrid" and {"schema", "chroma index"} <= {c.name for c in self.checks
                                                                if c.ok}:
            await self.probe("index health", self.index_health,
                             hint="run `agentmem reindex` (rebuilds Chroma from PostgreSQL)")
        return self.checks

    async def embedder(self) -> str:
        from ..embeddings import embedder_from_spec

        emb = embedder_from_spec(self.settings.embeddings)
        vec = await emb.aembed_query("agentmem doctor probe")
        if len(vec) != emb.dimension:
            raise _Failed(f"{emb.model_id} returned {len(vec)} numbers, expected "
                          f"{emb.dimension}", "check the model name in AGENTMEM_EMBEDDINGS")
        self.info = StoreInfo(emb.model_id, emb.dimension)
        return f"{emb.model_id}, dimension {emb.dimension}"

    async def disk(self) -> str:
        """Free space where agentmem keeps local state (the home, or its nearest parent)."""
        place = Path(self.settings.home).resolve()
        while not place.exists():
            place = place.parent
        free = shutil.disk_usage(place).free
        if free < MIN_FREE_BYTES:
            raise _Failed(f"{free / 2**20:.0f} MiB free at {place}",
                          "free some space or point AGENTMEM_HOME at a larger disk")
        return f"{free / 2**30:.1f} GiB free at {place}"

    async def postgres(self) -> None:
        from ..embedded import embedded_exists
        from ..factory import postgres_from_settings

        if self.settings.postgres_url is None and not embedded_exists(self.settings.home):
            self.note("postgres", f"embedded store not created yet under "
                      f"{Path(self.settings.home).resolve() / 'pg'} (made on first use, "
                      "e.g. `agentmem migrate`)")
            return
        facts: dict[str, Any] = {}
        try:
            pg, _ = postgres_from_settings(self.settings, connect_timeout=5)
        except (AgentMemError, ImportError) as exc:
            self.checks.append(Check("postgres", False, f"{type(exc).__name__}: {exc}",
                                     "see the message; AGENTMEM_POSTGRES_URL selects a server"))
            return

        async def reach() -> str:
            nonlocal facts
            try:
                facts = await pg.describe()
            except AgentMemError as exc:
                kind, hint = _postgres_failure(exc)
                raise _Failed(f"{kind}: {exc}", hint) from exc
            return f"PostgreSQL {facts['server_version']} at {pg.location}"

        try:
            if not await self.probe("postgres", reach):
                return
            await self.probe("pgvector", lambda: self._pgvector(facts))
            if await self.probe("schema", lambda: self._schema(pg, facts)):
                await self.probe("indexes", lambda: self._indexes(facts))
                if self.settings.resolved_mode == "hybrid":
                    await self.probe("index queue", lambda: self._queue(pg))
        finally:
            await pg.close()

    @staticmethod
    async def _pgvector(facts: dict[str, Any]) -> str:
        if not facts["pgvector_version"]:
            raise _Failed("the vector extension is not installed in this database",
                          "run `CREATE EXTENSION vector;` as a superuser (or `agentmem "
                          "migrate` with such a user); the server needs pgvector installed")
        return f"pgvector {facts['pgvector_version']}"

    async def _schema(self, pg: Any, facts: dict[str, Any]) -> str:
        if facts["schema_version"] < facts["schema_expected"]:
            raise _Failed(f"schema version {facts['schema_version']}, this agentmem needs "
                          f"{facts['schema_expected']}", "run `agentmem migrate`")
        if self.info is not None:
            await pg.check(self.info)
        return f"version {facts['schema_version']}, built with {facts['model_id']}"

    @staticmethod
    async def _indexes(facts: dict[str, Any]) -> str:
        if facts["missing_indexes"]:
            raise _Failed(f"missing: {', '.join(facts['missing_indexes'])}",
                          "run `agentmem migrate`")
        if facts["invalid_indexes"]:
            raise _Failed(f"invalid (a failed concurrent build?): "
                          f"{', '.join(facts['invalid_indexes'])}",
                          "REINDEX INDEX CONCURRENTLY each of them, or `agentmem optimize "
                          "--apply` for ANN indexes")
        return f"{len(facts['indexes'])} present and valid"

    @staticmethod
    async def _queue(pg: Any) -> str:
        pending = await pg.pending_count(None)
        return (f"{pending} memories waiting for the Chroma index" + (
            " (recall is served from PostgreSQL meanwhile; `agentmem reindex` if it stays)"
            if pending else ""))

    async def index_health(self) -> str:
        """Chroma holds as many memories as PostgreSQL, give or take what is still queued."""
        from ..backends.hybrid import HybridBackend
        from ..factory import chroma_from_settings, postgres_from_settings

        pg, _ = postgres_from_settings(self.settings, connect_timeout=5)
        hybrid = HybridBackend(pg, chroma_from_settings(self.settings)[0])
        try:
            primary, index = await hybrid.sizes()
            pending = await hybrid.pending_count()
        finally:
            await hybrid.close()
        gap = abs(primary.memories - index.memories)
        facts = (f"PostgreSQL {primary.memories} memories, Chroma {index.memories}, "
                 f"{pending} queued")
        if gap > pending:
            raise _Failed(f"{facts}: {gap} differ, more than the queue explains",
                          "run `agentmem reindex` (rebuilds Chroma from PostgreSQL)")
        return facts

    async def chroma(self) -> None:
        from ..factory import chroma_from_settings

        if self.settings.chroma_url is None and not Path(self.settings.chroma_location).exists():
            self.note("chroma", f"embedded index not created yet at "
                      f"{Path(self.settings.chroma_location).resolve()} (made on first use)")
            return
        chroma, _ = chroma_from_settings(self.settings)
        try:
            async def heartbeat() -> str:
                beat = await chroma.heartbeat()
                return (f"Chroma {await chroma.server_version()} at {chroma.location}, "
                        f"heartbeat {beat}")

            reached = await self.probe("chroma", heartbeat, hint=(
                "start Chroma (`chroma run`) or fix AGENTMEM_CHROMA_URL; in Kubernetes check "
                "the Service and the NetworkPolicy"))
            if reached and self.info is not None:
                info = self.info

                async def registry() -> str:
                    await chroma.check(info)
                    return f"built with {info.model_id}, dimension {info.dimension}"

                await self.probe("chroma index", registry, hint=(
                    "run `agentmem migrate` (new store) or `agentmem reindex` (hybrid: rebuilt "
                    "from PostgreSQL)"))
        finally:
            await chroma.close()


async def run_checks(settings: AgentMemSettings) -> list[Check]:
    """Every check for ``settings``, in order; reads, never writes."""
    return await _Doctor(settings).run()


@app.command()
def doctor(as_json: bool = JSON_OPT) -> None:
    """Check the configuration, servers, schema, indexes, embedder and disk (read-only);
    exit 1 if anything fails, each failure with a fix."""
    checks = asyncio.run(run_checks(settings_or_exit()))
    if as_json:
        print(json.dumps([asdict(c) for c in checks], indent=2))
    else:
        table = Table(title="agentmem doctor")
        for col in ("check", "status", "detail", "fix"):
            table.add_column(col)
        for c in checks:
            table.add_row(c.name, "[green]ok[/]" if c.ok else "[bold red]FAIL[/]", c.detail,
                          c.hint)
        console.print(table)
    if not all(c.ok for c in checks):
        raise typer.Exit(int(ExitCode.FAILED))
