"""Storage backends behind one protocol; each driver is imported only by its module."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .base import Backend, StoreInfo
from .hybrid import HybridBackend

if TYPE_CHECKING:
    from .chroma import ChromaBackend
    from .postgres import PostgresBackend, PostgresConfig

__all__ = ["Backend", "ChromaBackend", "HybridBackend", "PostgresBackend", "PostgresConfig",
           "StoreInfo"]


def __getattr__(name: str) -> Any:
    if name in ("PostgresBackend", "PostgresConfig"):
        from . import postgres

        return getattr(postgres, name)
    if name == "ChromaBackend":
        from . import chroma

        return chroma.ChromaBackend
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
