"""Seeded synthetic data sets, their agent layouts and query sets, and the exact ground truth.

Everything is reproducible from the seed. Vectors are unit-length float32 in 384
dimensions, so cosine, inner product and L2 rank alike in every system.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

__all__ = ["DATASETS", "DIM", "SCENARIOS", "Cell", "CellSpec", "content_of", "exact_top_k",
           "exact_top_k_many", "ground_truth", "make_cell", "row_id"]

DIM = 384
DATASETS = ("uniform", "mixture")
SCENARIOS = ("agents", "single")  # many agents sharing the store / one agent holding all rows
MIXTURE_CENTRES = 100
MIXTURE_SPREAD = 0.05  # per-dimension sd around a centre: cosine to it is about 0.7
QUERY_NOISE = 0.02  # per-dimension sd added to a data point to make a query

FloatArray = npt.NDArray[np.float32]
IntArray = npt.NDArray[np.int64]


def row_id(i: int) -> str:
    """The id of row ``i``: UUID-shaped, because PGVectorStore's default id column is a uuid."""
    return str(uuid.UUID(int=i))


def content_of(i: int) -> str:
    """The text stored with row ``i`` (every system stores some text; none embeds it)."""
    return f"synthetic memory {i}"


def _unit(x: npt.NDArray[np.float64]) -> FloatArray:
    out: FloatArray = (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)
    return out


@dataclass(frozen=True)
class CellSpec:
    """One measured setting: data set × size × agent layout (plus query count and seed)."""

    dataset: str
    n: int
    scenario: str
    agents: int = 100
    queries: int = 300
    seed: int = 0

    @property
    def key(self) -> str:
        return f"{self.dataset}/{self.n}/{self.scenario}"

    @property
    def n_agents(self) -> int:
        return self.agents if self.scenario == "agents" else 1


@dataclass
class Cell:
    """The data of one cell: vectors, which agent owns each row, and the queries."""

    spec: CellSpec
    vectors: FloatArray  # (n, DIM), unit rows
    row_agent: IntArray  # (n,), index into agent_names
    agent_names: list[str]
    queries: FloatArray  # (q, DIM), unit rows
    query_agent: IntArray  # (q,), index into agent_names

    def save(self, path: Path) -> None:
        np.savez(path, vectors=self.vectors, row_agent=self.row_agent, queries=self.queries,
                 query_agent=self.query_agent, agent_names=np.array(self.agent_names))

    @classmethod
    def load(cls, spec: CellSpec, path: Path) -> Cell:
        with np.load(path) as f:
            return cls(spec, f["vectors"], f["row_agent"], [str(a) for a in f["agent_names"]],
                       f["queries"], f["query_agent"])


def make_vectors(dataset: str, n: int, rng: np.random.Generator) -> FloatArray:
    """``n`` unit vectors: uniform in the cube, or a Gaussian mixture around unit centres."""
    if dataset == "uniform":
        return _unit(rng.uniform(-1.0, 1.0, size=(n, DIM)))
    if dataset == "mixture":
        centres = _unit(rng.normal(size=(MIXTURE_CENTRES, DIM))).astype(np.float64)
        labels = rng.integers(MIXTURE_CENTRES, size=n)
        return _unit(centres[labels] + rng.normal(scale=MIXTURE_SPREAD, size=(n, DIM)))
    raise ValueError(f"unknown data set {dataset!r}: use {', '.join(DATASETS)}")


def make_cell(spec: CellSpec) -> Cell:
    """Build a cell. Both scenarios of one data set and size share the same vectors."""
    if spec.scenario not in SCENARIOS:
        raise ValueError(f"unknown scenario {spec.scenario!r}: use {', '.join(SCENARIOS)}")
    if spec.n < spec.n_agents:
        raise ValueError(f"{spec.n} rows cannot be spread over {spec.n_agents} agents")
    vectors = make_vectors(spec.dataset, spec.n, np.random.default_rng(
        [spec.seed, DATASETS.index(spec.dataset), spec.n]))
    rng = np.random.default_rng([spec.seed, DATASETS.index(spec.dataset), spec.n,
                                 SCENARIOS.index(spec.scenario)])
    if spec.scenario == "agents":
        names = [f"agent-{j:03d}" for j in range(spec.n_agents)]
        row_agent = (rng.permutation(spec.n) % spec.n_agents).astype(np.int64)
    else:
        names = ["agent-solo"]
        row_agent = np.zeros(spec.n, dtype=np.int64)
    query_agent = rng.integers(spec.n_agents, size=spec.queries).astype(np.int64)
    # Each query is a perturbed copy of a random row of the agent it is sent to.
    base = np.array([rng.choice(np.flatnonzero(row_agent == a)) for a in query_agent])
    noisy = vectors[base].astype(np.float64) + rng.normal(scale=QUERY_NOISE,
                                                          size=(spec.queries, DIM))
    return Cell(spec, vectors, row_agent, names, _unit(noisy), query_agent)


def _unit64(x: npt.NDArray[np.floating]) -> npt.NDArray[np.float64]:
    m = np.atleast_2d(np.asarray(x, dtype=np.float64))
    norms = np.linalg.norm(m, axis=1, keepdims=True)
    return m / np.where(norms == 0, 1.0, norms)


def exact_top_k_many(matrix: npt.NDArray[np.floating], queries: npt.NDArray[np.floating],
                     k: int) -> IntArray:
    """For each query row, the indices of the ``k`` rows of ``matrix`` with the highest
    cosine, best first (ties broken by lower index); shape ``(len(queries), min(k, rows))``.
    Computed in float64."""
    if k < 1:
        raise ValueError(f"k must be at least 1, got {k}")
    scores = _unit64(queries) @ _unit64(matrix).T  # (queries, rows)
    kk = min(k, scores.shape[1])
    if kk < scores.shape[1]:
        candidates = np.argpartition(-scores, kk - 1, axis=1)[:, :kk]
    else:
        candidates = np.tile(np.arange(kk), (scores.shape[0], 1))
    out = np.empty((scores.shape[0], kk), dtype=np.int64)
    for i, cand in enumerate(candidates):
        out[i] = cand[np.lexsort((cand, -scores[i, cand]))]
    return out


def exact_top_k(matrix: npt.NDArray[np.floating], query: npt.NDArray[np.floating],
                k: int) -> IntArray:
    """Row indices of the ``k`` rows of ``matrix`` with the highest cosine to ``query``,
    best first (ties broken by lower index)."""
    top: IntArray = exact_top_k_many(matrix, np.asarray(query)[None, :], k)[0]
    return top


def ground_truth(cell: Cell, k: int) -> list[list[str]]:
    """For every query, the ids of its agent's ``k`` nearest rows (exact, by cosine)."""
    truth: list[list[str]] = [[] for _ in range(len(cell.queries))]
    for a in np.unique(cell.query_agent):
        rows = np.flatnonzero(cell.row_agent == a)
        asked = np.flatnonzero(cell.query_agent == a)
        top = exact_top_k_many(cell.vectors[rows], cell.queries[asked], k)
        for qi, found in zip(asked, top):
            truth[int(qi)] = [row_id(int(rows[j])) for j in found]
    return truth
