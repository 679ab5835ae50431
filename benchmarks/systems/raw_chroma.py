"""Raw chromadb: one collection for every agent, ``agent_id`` as metadata, filtered queries.

This is the layout most applications start with. Chroma filters inside its HNSW search,
so a selective ``where`` can come back with fewer than ``k`` rows; the rows-returned
figure shows whether it does. Queries ask for distances only (the floor of a Chroma call).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

from . import Batch, Env, QueryFn
from .lc_chroma import chroma_client

__all__ = ["RawChromaSystem"]


class RawChromaSystem:
    def __init__(self, env: Env) -> None:
        self.client = chroma_client(env.chroma_url)
        self.collection = self.client.get_or_create_collection(
            f"{env.chroma_prefix}-raw", configuration={"hnsw": {"space": "cosine"}},
            embedding_function=None)
        self.max_batch = int(self.client.get_max_batch_size())

    def ingest(self, batch: Batch) -> None:
        for s in range(0, len(batch.ids), self.max_batch):
            e = s + self.max_batch
            self.collection.upsert(ids=batch.ids[s:e], embeddings=batch.vectors[s:e],
                                   metadatas=[{"agent_id": a} for a in batch.agents[s:e]],
                                   documents=batch.contents[s:e])

    def build_index(self) -> dict[str, float]:
        return {}  # Chroma grows its HNSW index as it writes

    def query(self, agent: str, vec: npt.NDArray[np.float32], k: int) -> list[str]:
        res = self.collection.query(query_embeddings=[vec], n_results=k,
                                    where={"agent_id": agent}, include=["distances"])
        return list(res["ids"][0])

    def paths(self) -> dict[str, QueryFn]:
        return {"chromadb": self.query}

    def describe(self) -> dict[str, Any]:
        return {"layout": "one collection, metadata agent_id", "space": "cosine",
                "ingest": f"collection.upsert in chunks of {self.max_batch} (get_max_batch_size)",
                "call": "query(query_embeddings=[v], n_results=k, where={'agent_id': a}, "
                        "include=['distances'])"}

    def close(self) -> None:
        """Nothing to release."""
