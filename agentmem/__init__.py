"""agentmem: long-term memory for LLM agents in PostgreSQL+pgvector and Chroma."""

from __future__ import annotations

from importlib import metadata as _metadata
from typing import TYPE_CHECKING, Any

from .backends import Backend, HybridBackend, StoreInfo
from .cache import SessionCache
from .embeddings import Embedder, HashingEmbedder, embedder_from_spec
from .errors import (
    AgentMemError,
    BackendError,
    BackendUnavailable,
    CompletionError,
    ConfigError,
    DimensionMismatch,
    InvalidFilter,
    InvalidInput,
    NotFound,
)
from .memory import HybridMemory
from .models import (
    ChatTurn,
    Memory,
    MemoryHit,
    MemoryLink,
    MemoryStats,
    MemoryTier,
    MemoryType,
    RelatedMemory,
)
from .ops.metrics import Metrics, MetricsSnapshot
from .retrieval import MMR, RetrievalConfig
from .settings import AgentMemSettings, load_settings

if TYPE_CHECKING:
    from .backends import ChromaBackend, PostgresBackend, PostgresConfig
    from .embeddings import OpenAIEmbedder, SentenceTransformerEmbedder

try:
    __version__ = _metadata.version("agentmem-hybrid")
except _metadata.PackageNotFoundError:  # pragma: no cover - running from a bare checkout
    __version__ = "0.0.0"

# Classes whose optional drivers are imported only when first used.
_LAZY = {
    "ChromaBackend": "backends",
    "PostgresBackend": "backends",
    "PostgresConfig": "backends",
    "OpenAIEmbedder": "embeddings",
    "SentenceTransformerEmbedder": "embeddings",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(f".{_LAZY[name]}", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

__all__ = [
    "AgentMemError",
    "AgentMemSettings",
    "Backend",
    "BackendError",
    "BackendUnavailable",
    "ChatTurn",
    "ChromaBackend",
    "CompletionError",
    "ConfigError",
    "DimensionMismatch",
    "Embedder",
    "HashingEmbedder",
    "HybridBackend",
    "HybridMemory",
    "InvalidFilter",
    "InvalidInput",
    "MMR",
    "Memory",
    "MemoryHit",
    "MemoryLink",
    "MemoryStats",
    "MemoryTier",
    "MemoryType",
    "Metrics",
    "MetricsSnapshot",
    "NotFound",
    "RelatedMemory",
    "RetrievalConfig",
    "OpenAIEmbedder",
    "PostgresBackend",
    "PostgresConfig",
    "SentenceTransformerEmbedder",
    "SessionCache",
    "StoreInfo",
    "embedder_from_spec",
    "load_settings",
]
