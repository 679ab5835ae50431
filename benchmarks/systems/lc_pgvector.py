"""langchain-postgres ``PGVectorStore`` (v2 API) in its default setup, on the round's database.

Its table gets an ``agent_id`` TEXT metadata column so the per-agent filter is a plain
column comparison. ``init_vectorstore_table`` creates no vector index (and no index on
``agent_id``): only the primary key on the uuid id column, so every query is a sequential
scan with a sort. ``describe()`` reports the indexes the table actually has.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt
from langchain_core.embeddings import Embeddings

from ..data import DIM
from . import Batch, Env, QueryFn

__all__ = ["NoEmbeddings", "PGVectorStoreSystem"]

TABLE = "bench_items"


class NoEmbeddings(Embeddings):
    """The embedding service the store requires; never called (vectors are precomputed)."""

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        raise RuntimeError("the benchmark passes precomputed vectors; nothing may embed")

    def embed_query(self, text: str) -> list[float]:
        raise RuntimeError("the benchmark passes precomputed vectors; nothing may embed")


def sqlalchemy_url(url: str) -> str:
    """A libpq URL as SQLAlchemy wants it for psycopg 3."""
    scheme, rest = url.split("://", 1)
    return f"postgresql+psycopg://{rest}" if scheme in ("postgresql", "postgres") else url


class PGVectorStoreSystem:
    def __init__(self, env: Env) -> None:
        from langchain_postgres import Column, PGEngine, PGVectorStore

        self.env = env
        self.engine = PGEngine.from_connection_string(sqlalchemy_url(env.pg_url))
        self.engine.init_vectorstore_table(TABLE, vector_size=DIM,
                                           metadata_columns=[Column("agent_id", "TEXT")])
        self.store = PGVectorStore.create_sync(self.engine, table_name=TABLE,
                                               embedding_service=NoEmbeddings(),
                                               metadata_columns=["agent_id"])

    def ingest(self, batch: Batch) -> None:
        self.store.add_embeddings(batch.contents, batch.vectors.tolist(),
                                  [{"agent_id": a} for a in batch.agents], batch.ids)

    def build_index(self) -> dict[str, float]:
        return {}  # default setup: it builds none (see describe())

    def query(self, agent: str, vec: npt.NDArray[np.float32], k: int) -> list[str]:
        docs = self.store.similarity_search_by_vector(vec.tolist(), k=k, filter={"agent_id": agent})
        return [str(d.id) for d in docs]

    def paths(self) -> dict[str, QueryFn]:
        return {"pgvectorstore": self.query}

    def describe(self) -> dict[str, Any]:
        import psycopg

        with psycopg.connect(self.env.pg_url) as conn:
            indexes = [r[0] for r in conn.execute(
                "SELECT indexdef FROM pg_indexes WHERE tablename = %s", [TABLE])]
        return {"indexes": indexes,
                "hnsw_index": any("hnsw" in d.lower() for d in indexes),
                "ingest": "add_embeddings(texts, embeddings, metadatas, ids): one INSERT and "
                          "commit per row",
                "call": "similarity_search_by_vector(vec, k=k, filter={'agent_id': a})"}

    def close(self) -> None:
        import asyncio

        asyncio.run(self.engine.close())  # its only close is async; it hops to the engine's loop
