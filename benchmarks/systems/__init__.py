"""One adapter per measured system, all behind the small :class:`System` protocol.

A *round* builds one system on a fresh database or Chroma prefix, ingests a cell's rows in
batches, builds any index the system builds separately, and times its query *paths*.
Most systems have one path, named like the system; a round may time more than one on the
same store (agentmem-pgvector also times ``langchain-agentmem`` over its memory, raw
psycopg times several SQL plans). Adapters import their library when built, so that a
round's peak RSS holds only what that system loads.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt

__all__ = ["ROUNDS", "SYSTEM_NAMES", "Batch", "Env", "QueryFn", "System", "make_system",
           "rounds_for"]

QueryFn = Callable[[str, npt.NDArray[np.float32], int], list[str]]
"""``(agent_id, query vector, k) -> ids found, best first``."""


@dataclass(frozen=True)
class Batch:
    """Rows to ingest: parallel lists of ids, texts and owners, and their vectors."""

    ids: list[str]
    contents: list[str]
    agents: list[str]
    vectors: npt.NDArray[np.float32]


@dataclass(frozen=True)
class Env:
    """Where a round's system lives: its own database and its own Chroma name prefix."""

    pg_url: str
    chroma_url: str
    chroma_prefix: str
    paths: tuple[str, ...]  # the query paths of this round to time
    ef_search: tuple[int, ...] = (40, 100, 200)
    scenario: str = "agents"
    extra: dict[str, Any] = field(default_factory=dict)


class System(Protocol):
    """What the runner needs from a system."""

    def ingest(self, batch: Batch) -> None:
        """Write one batch (timed, summed over batches as the ingest time)."""

    def build_index(self) -> dict[str, float]:
        """Build what the system builds after loading; seconds per index (timed separately).

        Empty for systems that maintain their indexes while writing."""

    def paths(self) -> dict[str, QueryFn]:
        """The query paths to time, by name (a subset of ``Env.paths``)."""

    def describe(self) -> dict[str, Any]:
        """Facts about the built store worth reporting (indexes, plans, settings)."""

    def close(self) -> None:
        """Release connections."""


# round name -> (module, class, query paths it can time)
ROUNDS: dict[str, tuple[str, str, tuple[str, ...]]] = {
    "agentmem-pgvector": ("agentmem_modes", "AgentMemPgvector",
                          ("agentmem-pgvector", "langchain-agentmem")),
    "agentmem-chroma": ("agentmem_modes", "AgentMemChroma", ("agentmem-chroma",)),
    "agentmem-hybrid": ("agentmem_modes", "AgentMemHybrid", ("agentmem-hybrid",)),
    "pgvectorstore": ("lc_pgvector", "PGVectorStoreSystem", ("pgvectorstore",)),
    "langchain-chroma": ("lc_chroma", "LangChainChromaSystem", ("langchain-chroma",)),
    "chromadb": ("raw_chroma", "RawChromaSystem", ("chromadb",)),
    "psycopg": ("raw_pg", "RawPostgresSystem", ("psycopg-exact", "psycopg-hnsw")),
    "numpy": ("exact", "NumpyExactSystem", ("numpy-exact",)),
}

# The names --systems accepts: every round, and the langchain-agentmem path (which is timed
# inside the agentmem-pgvector round, over the same memory, interleaved query by query).
SYSTEM_NAMES = (*ROUNDS, "langchain-agentmem")


def rounds_for(selected: list[str]) -> dict[str, tuple[str, ...]]:
    """The rounds to run for the selected system names, each with the paths to time.

    A path is timed when it is selected by name, or when its round is selected and the
    path is not a system name of its own (``psycopg`` times all its SQL plans).
    """
    unknown = [s for s in selected if s not in SYSTEM_NAMES]
    if unknown:
        raise ValueError(f"unknown systems {', '.join(unknown)}: use {', '.join(SYSTEM_NAMES)}")
    out: dict[str, tuple[str, ...]] = {}
    for name, (_, _, paths) in ROUNDS.items():
        wanted = tuple(p for p in paths if p in selected
                       or (name in selected and p not in SYSTEM_NAMES))
        if wanted:
            out[name] = wanted
    return out


def make_system(round_name: str, env: Env) -> System:
    """Build (connect, create schema) the system of a round."""
    module, cls, _ = ROUNDS[round_name]
    factory: Callable[[Env], System] = getattr(
        importlib.import_module(f"{__name__}.{module}"), cls)
    return factory(env)
