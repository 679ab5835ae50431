"""Settings to backends: the one place that decides what a configuration opens.

:meth:`HybridMemory.from_settings`, ``agentmem doctor`` and the CLI all build here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from .backends.base import Backend
from .errors import ConfigError
from .settings import AgentMemSettings

if TYPE_CHECKING:
    from .backends.chroma import ChromaBackend
    from .backends.postgres import PostgresBackend

__all__ = ["Built", "backend_from_settings", "chroma_from_settings", "compose",
           "postgres_from_settings"]


@dataclass(frozen=True)
class Built:
    """A backend and whether agentmem owns its store (embedded: initialised on first use)."""

    backend: Backend
    embedded: bool


def postgres_from_settings(settings: AgentMemSettings, *,
                           connect_timeout: float | None = None) -> tuple[PostgresBackend, bool]:
    """The PostgreSQL backend, starting the embedded server when no URL is set."""
    from .backends.postgres import PostgresBackend, PostgresConfig

    url, embedded = settings.postgres_url, False
    if url is None:
        from .embedded import embedded_postgres_url

        url, embedded = embedded_postgres_url(settings.home), True
    config = PostgresConfig(url=url, search=settings.search, pool_min=settings.pool_min,
                            pool_max=settings.pool_max, ef_search=settings.ef_search,
                            connect_timeout=connect_timeout or settings.connect_timeout,
                            retries=settings.retries,
                            statement_timeout=settings.statement_timeout)
    return PostgresBackend(config), embedded


def chroma_from_settings(settings: AgentMemSettings) -> tuple[ChromaBackend, bool]:
    """The Chroma backend: a server URL, or the directory under ``home`` (embedded)."""
    from .backends.chroma import ChromaBackend

    return (ChromaBackend(settings.chroma_location, timeout=settings.chroma_timeout),
            settings.chroma_url is None)


def backend_from_settings(settings: AgentMemSettings) -> Built:
    """The backend of the configured mode (a :class:`HybridBackend` in hybrid mode)."""
    mode = settings.resolved_mode
    if mode == "chroma":
        chroma, embedded = chroma_from_settings(settings)
        return Built(chroma, embedded)
    postgres, embedded = postgres_from_settings(settings)
    if mode == "pgvector":
        return Built(postgres, embedded)
    from .backends.hybrid import HybridBackend

    # The index is derived data, so only the source of truth decides who initialises.
    return Built(HybridBackend(postgres, chroma_from_settings(settings)[0]), embedded)


def compose(postgres: PostgresBackend | None, chroma: ChromaBackend | None) -> Backend:
    """One backend, or both composed into a hybrid one (PostgreSQL the source of truth)."""
    if postgres is not None and chroma is not None:
        from .backends.hybrid import HybridBackend

        return HybridBackend(postgres, chroma)
    if postgres is None and chroma is None:
        raise ConfigError("HybridMemory needs a backend: postgres=, chroma=, both, or backend=")
    return postgres or chroma  # type: ignore[return-value]
