"""Configuration from the environment (prefix ``AGENTMEM_``) or arguments."""

from __future__ import annotations

from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit, urlunsplit

from pydantic import ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from .errors import ConfigError

__all__ = ["AgentMemSettings", "Mode", "load_settings", "redact_url"]

Mode = Literal["chroma", "pgvector", "hybrid"]


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


def load_settings(**overrides: object) -> AgentMemSettings:
    """Settings from the environment plus ``overrides``; errors become ConfigError."""
    try:
        return AgentMemSettings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        problems = "; ".join(
            f"AGENTMEM_{'_'.join(str(p) for p in e['loc']).upper()}: {e['msg']}"
            for e in exc.errors()
        )
        raise ConfigError(f"invalid agentmem settings: {problems}") from exc


def redact_url(url: str) -> str:
    """``url`` with any password replaced by ``***``, safe to print in an error."""
    try:
        parts = urlsplit(url)
        password = parts.password
    except ValueError:
        return "<unparsable URL>"
    if not password:
        return url
    return urlunsplit(parts._replace(netloc=parts.netloc.replace(f":{password}@", ":***@")))
