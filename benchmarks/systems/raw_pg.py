"""Raw psycopg 3 + pgvector: binary COPY into a plain table, then the best SQL plans by hand.

* Load: ``COPY ... FROM STDIN (FORMAT BINARY)`` into
  ``items (agent_id text, id text, embedding vector(384), content text)``; no index yet.
* Index builds, each timed on its own: B-tree on ``agent_id``, HNSW ``vector_cosine_ops``
  (pgvector defaults m=16, ef_construction=64; ``maintenance_work_mem`` raised to 1GB so
  the graph is built in memory), then ``ANALYZE``.
* ``psycopg-exact``: one agent's exact top-k. The agent's rows come from the B-tree and
  are sorted by distance inside a MATERIALIZED CTE, which fences the ORDER BY off from the
  HNSW index (whose post-filtering would return too few rows for a selective agent).
* ``psycopg-exact-rows``: the same plan returning each row's text as well (``id, content,
  distance``), the least a caller that uses the memories fetches; agentmem returns all of
  a memory's columns, so this is the fairer floor for its recall, reported beside the other.
* ``psycopg-hnsw-efN`` (single-agent scenario only): plain HNSW ``ORDER BY embedding <=> q
  LIMIT k`` over the whole table (it is all the one agent's) at ``hnsw.ef_search`` N, each
  on its own connection with the setting made once.

``describe()`` records ``EXPLAIN`` for every path, so the plans used are on record.
"""

from __future__ import annotations

import re
import time
from typing import Any

import numpy as np
import numpy.typing as npt

from ..data import DIM
from . import Batch, Env, QueryFn

__all__ = ["EXACT_ROWS_SQL", "EXACT_SQL", "HNSW_SQL", "RawPostgresSystem"]

EXACT_SQL = ("WITH scoped AS MATERIALIZED ("
             "SELECT id, embedding <=> %(q)b AS distance FROM items WHERE agent_id = %(agent)s)"
             " SELECT id, distance FROM scoped ORDER BY distance LIMIT %(k)s")
EXACT_ROWS_SQL = ("WITH scoped AS MATERIALIZED ("
                  "SELECT id, embedding <=> %(q)b AS distance FROM items WHERE agent_id = %(agent)s)"
                  " SELECT i.id, i.content, s.distance FROM (SELECT * FROM scoped ORDER BY"
                  " distance LIMIT %(k)s) s JOIN items i ON i.agent_id = %(agent)s AND i.id = s.id"
                  " ORDER BY s.distance")
HNSW_SQL = ("SELECT id, embedding <=> %(q)b AS distance FROM items"
            " ORDER BY embedding <=> %(q)b LIMIT %(k)s")
_VECTOR_LITERAL = re.compile(r"'\[[^\]]*\]'")  # the sample query vector, in EXPLAIN output
INDEXES = {
    "btree_agent_id": "CREATE INDEX items_agent_idx ON items (agent_id)",
    "hnsw_cosine": "CREATE INDEX items_embedding_idx ON items USING hnsw (embedding vector_cosine_ops)",
    "analyze": "ANALYZE items",
}


def _connect(url: str) -> Any:
    import psycopg
    from pgvector.psycopg import register_vector

    conn = psycopg.connect(url, autocommit=True)
    register_vector(conn)
    return conn


class RawPostgresSystem:
    def __init__(self, env: Env) -> None:
        import psycopg

        self.env = env
        with psycopg.connect(env.pg_url, autocommit=True) as setup:
            setup.execute("CREATE EXTENSION IF NOT EXISTS vector")
        self.conn = _connect(env.pg_url)
        self.conn.execute(f"CREATE TABLE items (agent_id text NOT NULL, id text NOT NULL, "
                          f"embedding vector({DIM}) NOT NULL, content text NOT NULL)")
        self._ef_conns: dict[int, Any] = {}

    def ingest(self, batch: Batch) -> None:
        with self.conn.cursor() as cur, cur.copy(
                "COPY items (agent_id, id, embedding, content) FROM STDIN WITH (FORMAT BINARY)"
        ) as copy:
            copy.set_types(["text", "text", "vector", "text"])
            for row in zip(batch.agents, batch.ids, batch.vectors, batch.contents):
                copy.write_row(row)

    def build_index(self) -> dict[str, float]:
        self.conn.execute("SET maintenance_work_mem = '1GB'")
        took = {}
        for name, ddl in INDEXES.items():
            start = time.perf_counter()
            self.conn.execute(ddl)
            took[name] = time.perf_counter() - start
        return took

    def exact(self, agent: str, vec: npt.NDArray[np.float32], k: int) -> list[str]:
        rows = self.conn.execute(EXACT_SQL, {"q": vec, "agent": agent, "k": k}).fetchall()
        return [r[0] for r in rows]

    def exact_rows(self, agent: str, vec: npt.NDArray[np.float32], k: int) -> list[str]:
        rows = self.conn.execute(EXACT_ROWS_SQL, {"q": vec, "agent": agent, "k": k}).fetchall()
        return [r[0] for r in rows]

    def _hnsw(self, ef: int) -> QueryFn:
        conn = self._ef_conns[ef] = _connect(self.env.pg_url)
        conn.execute(f"SET hnsw.ef_search = {int(ef)}")

        def query(agent: str, vec: npt.NDArray[np.float32], k: int) -> list[str]:
            return [r[0] for r in conn.execute(HNSW_SQL, {"q": vec, "k": k}).fetchall()]

        return query

    def paths(self) -> dict[str, QueryFn]:
        out: dict[str, QueryFn] = {}
        if "psycopg-exact" in self.env.paths:
            out["psycopg-exact"] = self.exact
            out["psycopg-exact-rows"] = self.exact_rows
        if "psycopg-hnsw" in self.env.paths and self.env.scenario == "single":
            for ef in self.env.ef_search:
                out[f"psycopg-hnsw-ef{ef}"] = self._hnsw(ef)
        return out

    def describe(self) -> dict[str, Any]:
        q = np.full(DIM, DIM ** -0.5, dtype=np.float32)
        agent = str(self.env.extra.get("agents", ["agent-000"])[0])
        plans = {}
        for name, sql, conn in [("psycopg-exact", EXACT_SQL, self.conn),
                                ("psycopg-exact-rows", EXACT_ROWS_SQL, self.conn),
                                *[(f"psycopg-hnsw-ef{ef}", HNSW_SQL, c)
                                  for ef, c in self._ef_conns.items()]]:
            rows = conn.execute(f"EXPLAIN (COSTS OFF) {sql}", {"q": q, "agent": agent, "k": 10})
            plans[name] = [_VECTOR_LITERAL.sub("'[...]'", r[0]) for r in rows]
        return {"plans": plans, "maintenance_work_mem": "1GB",
                "hnsw": "m=16, ef_construction=64 (pgvector defaults)",
                "load": "binary COPY, one COPY per batch"}

    def close(self) -> None:
        for conn in [self.conn, *self._ef_conns.values()]:
            conn.close()
