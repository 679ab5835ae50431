"""agentmem in its three modes, through its public API only.

Rows are written with ``HybridMemory.remember_many(memories, embeddings=...)`` (vectors
precomputed, so ``HashingEmbedder`` never embeds) and read with ``recall_by_vector``.
The pgvector round also times ``langchain_agentmem.AgentMemVectorStore`` over the same
memory, next to the exact core call the store makes, so their ratio is the store's overhead.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

from ..data import DIM
from . import Batch, Env, QueryFn

__all__ = ["AgentMemChroma", "AgentMemHybrid", "AgentMemPgvector"]

STORE_CORE = "langchain-agentmem/core"  # the recall_by_vector call the store makes, timed beside it


class _AgentMem:
    """A fresh ``HybridMemory`` over the round's own database and/or Chroma prefix."""

    mode = ""

    def __init__(self, env: Env) -> None:
        from agentmem import ChromaBackend, HashingEmbedder, HybridMemory, PostgresBackend

        self.env = env
        postgres = PostgresBackend(env.pg_url) if self.mode in ("pgvector", "hybrid") else None
        chroma = (ChromaBackend(env.chroma_url, prefix=env.chroma_prefix)
                  if self.mode in ("chroma", "hybrid") else None)
        self.memory = HybridMemory(embedder=HashingEmbedder(DIM), postgres=postgres, chroma=chroma)
        self.memory.init()

    def ingest(self, batch: Batch) -> None:
        from agentmem import Memory, MemoryType

        memories = [Memory(content=c, agent_id=a, id=i, memory_type=MemoryType.SEMANTIC)
                    for i, c, a in zip(batch.ids, batch.contents, batch.agents)]
        self.memory.remember_many(memories, embeddings=batch.vectors)

    def build_index(self) -> dict[str, float]:
        """What a user runs after a bulk load: ``optimize`` (an ANN index for each agent of
        10,000 memories or more) in pgvector and hybrid mode, and in hybrid mode waiting
        for the Chroma copy."""
        import time

        steps: dict[str, float] = {}
        if self.mode in ("pgvector", "hybrid"):
            from agentmem.ops.optimize import optimize_memory

            start = time.perf_counter()
            report = optimize_memory(self.memory, apply=True)
            if any(a.action != "keep" for a in report.agents):
                steps["optimize"] = time.perf_counter() - start
        if self.mode == "hybrid":
            start = time.perf_counter()
            self.memory.flush_index()
            steps["chroma-copy"] = time.perf_counter() - start
        return steps

    def query(self, agent: str, vec: npt.NDArray[np.float32], k: int) -> list[str]:
        return [h.memory.id for h in self.memory.recall_by_vector(vec, agent, k=k)]

    def paths(self) -> dict[str, QueryFn]:
        return {f"agentmem-{self.mode}": self.query}

    def describe(self) -> dict[str, Any]:
        out: dict[str, Any] = {"mode": self.memory.mode,
                               "call": "recall_by_vector(vec, agent_id, k=k)",
                               "ingest": "remember_many(memories, embeddings=vectors), "
                                         "memory_type=semantic"}
        if self.mode in ("pgvector", "hybrid"):  # what agentmem built, read from the catalog
            import psycopg

            with psycopg.connect(self.env.pg_url) as conn:
                out["indexes"] = [r[0] for r in conn.execute(
                    "SELECT indexdef FROM pg_indexes WHERE tablename LIKE 'agentmem%%'"
                    " ORDER BY indexname")]
        return out

    def close(self) -> None:
        self.memory.close()


class AgentMemPgvector(_AgentMem):
    """pgvector mode; optionally also the LangChain vector store over the same memory."""

    mode = "pgvector"

    def __init__(self, env: Env) -> None:
        super().__init__(env)
        self._stores: dict[str, Any] = {}

    def _store(self, agent: str) -> Any:
        from langchain_agentmem import AgentMemVectorStore

        if agent not in self._stores:  # one store per agent, as an application would hold
            self._stores[agent] = AgentMemVectorStore(self.memory, agent_id=agent,
                                                      memory_type="semantic")
        return self._stores[agent]

    def store_query(self, agent: str, vec: npt.NDArray[np.float32], k: int) -> list[str]:
        docs = self._stores[agent].similarity_search_by_vector(vec.tolist(), k=k)
        return [str(d.id) for d in docs]

    def core_query(self, agent: str, vec: npt.NDArray[np.float32], k: int) -> list[str]:
        """What ``AgentMemVectorStore.similarity_search_by_vector`` calls underneath."""
        from agentmem import MemoryType

        hits = self.memory.recall_by_vector(vec, agent, memory_types=[MemoryType.SEMANTIC],
                                            k=k, filter=None, mmr=None)
        return [h.memory.id for h in hits]

    def paths(self) -> dict[str, QueryFn]:
        out: dict[str, QueryFn] = {}
        if "agentmem-pgvector" in self.env.paths:
            out["agentmem-pgvector"] = self.query
        if "langchain-agentmem" in self.env.paths:
            for agent in self.env.extra.get("agents", []):
                self._store(agent)
            out["langchain-agentmem"] = self.store_query
            out[STORE_CORE] = self.core_query
        return out

    def describe(self) -> dict[str, Any]:
        return {**super().describe(),
                "langchain-agentmem": "AgentMemVectorStore(memory, agent_id, memory_type='semantic')"
                                      ".similarity_search_by_vector(vec, k=k); ingest not measured: "
                                      "the store's add_texts/add_documents take no vectors",
                STORE_CORE: "recall_by_vector(vec, agent_id, memory_types=[semantic], k=k)"}


class AgentMemChroma(_AgentMem):
    mode = "chroma"


class AgentMemHybrid(_AgentMem):
    mode = "hybrid"
