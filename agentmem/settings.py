"""Configuration from the environment (prefix ``AGENTMEM_``) or arguments."""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Literal
from urllib.parse import unquote, unquote_plus

from pydantic import Field, ValidationError, ValidationInfo, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from .errors import ConfigError

__all__ = ["AgentMemSettings", "Mode", "load_settings", "redact_url", "url_secrets"]

Mode = Literal["chroma", "pgvector", "hybrid"]
LogLevel = Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"]


class AgentMemSettings(BaseSettings):
    """Where memories live and how they are embedded.

    With nothing set, everything is embedded under ``./.agentmem/``: a Chroma directory
    and a PostgreSQL with pgvector started on demand, in hybrid mode; embeddings are
    ``auto``: all-MiniLM-L6-v2 when it is installed locally, else ``hashing:384``.
    """

    model_config = SettingsConfigDict(env_prefix="AGENTMEM_", extra="ignore")

    postgres_url: str | None = None
    chroma_url: str | None = None
    mode: Mode | None = None
    embeddings: str = "auto"
    home: Path = Path(".agentmem")
    search: Literal["auto", "exact"] = "auto"
    retention: Literal["off", "tiered"] = "off"  # tiered: RetentionPolicy() expiry by tier
    # PostgreSQL connection pool and timeouts (seconds), and the ANN search breadth: at
    # least this hnsw.ef_search for agents with an ANN index (None: what optimize chose).
    pool_min: int = Field(default=1, ge=0, le=1000)
    pool_max: int = Field(default=10, ge=1, le=1000)
    connect_timeout: float = Field(default=10.0, gt=0, le=600)
    ef_search: int | None = Field(default=None, ge=1, le=1000)
    # Faults: attempts for a transaction that failed on a lost connection, a deadlock or a
    # serialization failure (1: no retry); PostgreSQL's statement_timeout (seconds, None:
    # the server's); the bound on every Chroma HTTP call (seconds).
    retries: int = Field(default=3, ge=1, le=20)
    statement_timeout: float | None = Field(default=None, gt=0, le=86400)
    chroma_timeout: float = Field(default=30.0, gt=0, le=3600)
    # The command line's logging: level, and ``json`` (one object per line) for containers.
    log_level: LogLevel = "WARNING"
    log_format: Literal["text", "json"] = "text"
    # The session cache (agentmem.cache): off by default, so every call reads the store
    # (other processes' writes are seen at once); on: embeddings and recalls kept in process.
    cache: Literal["on", "off"] = "off"
    cache_embeddings: int = Field(default=10_000, ge=0, le=10_000_000)
    cache_recalls: int = Field(default=1_000, ge=0, le=1_000_000)
    cache_ttl: float | None = Field(default=60.0, gt=0, le=86400)

    @field_validator("log_level", mode="before")
    @classmethod
    def _level(cls, v: object) -> object:
        return v.upper() if isinstance(v, str) else v

    @field_validator("cache", mode="before")
    @classmethod
    def _cache(cls, v: object) -> object:
        return v.lower() if isinstance(v, str) else v

    @field_validator("postgres_url")
    @classmethod
    def _pg(cls, v: str | None) -> str | None:
        if v and not v.startswith(("postgresql://", "postgres://")):
            raise ValueError("must be a postgresql:// URL")
        return v or None

    @field_validator("chroma_url")
    @classmethod
    def _chroma(cls, v: str | None) -> str | None:
        return v or None

    @field_validator("pool_max")
    @classmethod
    def _pool(cls, v: int, info: ValidationInfo) -> int:
        if v < info.data.get("pool_min", 0):
            raise ValueError("must be at least AGENTMEM_POOL_MIN")
        return v

    @property
    def resolved_mode(self) -> Mode:
        """The mode asked for, else the one the configured URLs imply (hybrid if none)."""
        if self.mode:
            return self.mode
        if self.postgres_url and not self.chroma_url:
            return "pgvector"
        if self.chroma_url and not self.postgres_url:
            return "chroma"
        return "hybrid"

    @property
    def chroma_location(self) -> str:
        return self.chroma_url or str(self.home / "chroma")

    def __repr_args__(self) -> Iterator[tuple[str | None, Any]]:
        """Fields for ``repr`` and ``str``, with the URLs' secrets masked."""
        for name, value in super().__repr_args__():
            yield name, (redact_url(value) if name in ("postgres_url", "chroma_url")
                         and isinstance(value, str) else value)


def load_settings(**overrides: object) -> AgentMemSettings:
    """Settings from the environment plus ``overrides``; errors become ConfigError.

    An override that is not a setting is an error (a misspelt ``postgress_url`` would
    otherwise be dropped and the embedded store used instead).
    """
    known = AgentMemSettings.model_fields
    unknown = [name for name in overrides if name not in known]
    if unknown:
        hints = []
        for name in unknown:
            close = difflib.get_close_matches(name, known, n=1)
            hints.append(f"{name!r}" + (f" (did you mean {close[0]!r}?)" if close else ""))
        raise ConfigError(f"unknown agentmem setting {', '.join(hints)}; the settings are "
                          f"{', '.join(known)}")
    try:
        return AgentMemSettings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        problems = "; ".join(
            f"AGENTMEM_{'_'.join(str(p) for p in e['loc']).upper()}: {e['msg']}"
            for e in exc.errors()
        )
        raise ConfigError(f"invalid agentmem settings: {problems}") from exc


# Where a connection string may carry a secret, besides ``user:password@``: query
# parameters (``?password=``) and libpq keyword strings (``host=db password=...``).
_SECRET_KEYS = ("password", "passwd", "pwd", "sslpassword", "token", "api_key", "apikey",
                "secret")
_KEYWORD = re.compile(r"""(?ix)\b({keys})\s*=\s*('(?:[^'\\]|\\.)*'|[^\s&;]*)""".format(
    keys="|".join(_SECRET_KEYS)))
_USERINFO = re.compile(r"(?i)([a-z][a-z0-9+.-]*://[^/@\s:]*):([^@\s]*)@")


def redact_url(url: str) -> str:
    """``url`` (or a libpq keyword string) with every secret replaced by ``***``: the
    password of ``user:password@``, and ``password=``-like parameters; safe to print."""
    text = _USERINFO.sub(r"\1:***@", url)
    return _KEYWORD.sub(lambda m: f"{m.group(1)}=***", text)


def url_secrets(url: str) -> list[str]:
    """The secrets ``redact_url`` hides in ``url``, to mask them wherever else they appear
    (a driver's error message, say)."""
    found = [m.group(2) for m in _USERINFO.finditer(url)]
    for m in _KEYWORD.finditer(url):
        value = m.group(2)
        if value.startswith("'"):  # libpq quoting: 'a b\' c' is a b' c
            value = re.sub(r"\\(.)", r"\1", value[1:-1])
        found.append(value)
    found += [unquote(s) for s in found] + [unquote_plus(s) for s in found]
    return sorted({s for s in found if s and s != "***"}, key=len, reverse=True)
