"""numpy brute force: each agent's rows in one float32 matrix, top-k by a matrix-vector
product. The latency floor of an exact search, and (in float64, in ``data.py``) the
ground truth every recall@k is measured against."""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

from . import Batch, Env, QueryFn

__all__ = ["NumpyExactSystem"]


class NumpyExactSystem:
    def __init__(self, env: Env) -> None:
        self._ids: list[str] = []
        self._agents: list[str] = []
        self._chunks: list[npt.NDArray[np.float32]] = []
        self._by_agent: dict[str, tuple[npt.NDArray[np.str_], npt.NDArray[np.float32]]] = {}

    def ingest(self, batch: Batch) -> None:
        self._ids += batch.ids
        self._agents += batch.agents
        self._chunks.append(batch.vectors)

    def build_index(self) -> dict[str, float]:
        """Group rows per agent into contiguous matrices (reported as ingest: n/a)."""
        vectors = np.concatenate(self._chunks)
        ids, agents = np.array(self._ids), np.array(self._agents)
        for agent in np.unique(agents):
            rows = np.flatnonzero(agents == agent)
            self._by_agent[str(agent)] = (ids[rows], np.ascontiguousarray(vectors[rows]))
        self._chunks = []
        return {}

    def query(self, agent: str, vec: npt.NDArray[np.float32], k: int) -> list[str]:
        ids, matrix = self._by_agent[agent]
        scores = matrix @ vec
        if k < len(scores):
            top = np.argpartition(-scores, k - 1)[:k]
            top = top[np.argsort(-scores[top])]
        else:
            top = np.argsort(-scores)
        return [str(i) for i in ids[top]]

    def paths(self) -> dict[str, QueryFn]:
        return {"numpy-exact": self.query}

    def describe(self) -> dict[str, Any]:
        return {"method": "float32 matrix @ vector, argpartition top-k, per-agent matrices"}

    def close(self) -> None:
        self._by_agent.clear()
