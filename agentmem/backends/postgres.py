"""PostgreSQL + pgvector backend: the source of truth in pgvector and hybrid modes.

psycopg 3 with an async connection pool; every statement is parameterised. Recall is
an exact cosine scan over one agent's rows (found through the B-tree on
``(agent_id, memory_type, created_at)``), fenced in a MATERIALIZED CTE so the planner
cannot hand the ORDER BY to the HNSW index, whose post-filtering returns too few rows
for a selective ``agent_id``. ``search="hnsw"`` opts into the index with pgvector's
iterative scans, and falls back to the exact scan whenever it comes back short.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any, Literal

from ..errors import ConfigError, DimensionMismatch, InvalidInput
from ..filters import And, Comparison, FilterNode, Or
from ..models import ChatTurn, Memory, MemoryHit, MemoryType
from ..settings import redact_url
from . import _pg_schema as schema
from ._pg_errors import postgres_errors
from .base import IndexWriter, Mode, StoreInfo, Vector

try:
    import psycopg
    from pgvector.psycopg import register_vector_async
    from psycopg import sql
    from psycopg.rows import dict_row
    from psycopg.types.json import Jsonb
    from psycopg_pool import AsyncConnectionPool
except ImportError as exc:  # pragma: no cover - exercised only without the extra
    raise ImportError(
        "the PostgreSQL backend needs psycopg, psycopg-pool and pgvector: "
        "pip install 'agentmem-hybrid[postgres]'"
    ) from exc

__all__ = ["PostgresBackend", "PostgresConfig", "redact_url", "to_sql"]

_COLUMNS = (
    "agent_id, id, memory_type, content, user_id, session_id, importance, metadata,"
    " source_ids, created_at, updated_at, expires_at"
)
_UPSERT = sql.SQL(
    f"INSERT INTO agentmem_memories ({_COLUMNS}, embedding, needs_index)"
    " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)"
    " ON CONFLICT (agent_id, id) DO UPDATE SET"
    " memory_type = EXCLUDED.memory_type, content = EXCLUDED.content,"
    " user_id = EXCLUDED.user_id, session_id = EXCLUDED.session_id,"
    " importance = EXCLUDED.importance, metadata = EXCLUDED.metadata,"
    " source_ids = EXCLUDED.source_ids, created_at = EXCLUDED.created_at,"
    " updated_at = EXCLUDED.updated_at, expires_at = EXCLUDED.expires_at,"
    " embedding = EXCLUDED.embedding, needs_index = EXCLUDED.needs_index"
)
_UNEXPIRED = sql.SQL("(expires_at IS NULL OR expires_at > now())")


@dataclass(frozen=True)
class PostgresConfig:
    """Connection and search options; ``url`` is any libpq URL."""

    url: str
    pool_min: int = 1
    pool_max: int = 10
    connect_timeout: float = 10.0
    search: Literal["exact", "hnsw"] = "exact"
    hnsw_ef_search: int = 100


# -- filter translation ------------------------------------------------------------

_ORDERED_SQL = {"$gt": ">", "$gte": ">=", "$lt": "<", "$lte": "<="}


def to_sql(node: FilterNode | None) -> tuple[sql.Composable, list[Any]]:
    """Compile a filter tree to a parameterised SQL condition (TRUE when None)."""
    if node is None:
        return sql.SQL("TRUE"), []
    if isinstance(node, (And, Or)):
        parts, params = [], []
        for child in node.children:
            cond, p = to_sql(child)
            parts.append(sql.SQL("({})").format(cond))
            params += p
        joiner = sql.SQL(" AND ") if isinstance(node, And) else sql.SQL(" OR ")
        return joiner.join(parts), params
    return (_column_sql if node.is_column else _metadata_sql)(node)


def _column_sql(c: Comparison) -> tuple[sql.Composable, list[Any]]:
    col = sql.Identifier(c.field)  # field is one of COLUMN_FIELDS, checked by the parser
    if c.op == "$eq":
        return sql.SQL("{} = %s").format(col), [c.value]
    if c.op == "$ne":
        return sql.SQL("{} IS DISTINCT FROM %s").format(col), [c.value]
    if c.op == "$in":
        return sql.SQL("{} = ANY(%s)").format(col), [list(c.value)]
    if c.op == "$nin":
        return sql.SQL("({0} IS NULL OR {0} <> ALL(%s))").format(col), [list(c.value)]
    return sql.SQL("{} " + _ORDERED_SQL[c.op] + " %s").format(col), [c.value]


def _metadata_sql(c: Comparison) -> tuple[sql.Composable, list[Any]]:
    if c.op == "$eq":
        return sql.SQL("metadata @> %s"), [Jsonb({c.field: c.value})]
    if c.op == "$ne":
        return sql.SQL("NOT (metadata @> %s)"), [Jsonb({c.field: c.value})]
    values = [Jsonb(v) for v in c.value] if c.op in ("$in", "$nin") else []
    if c.op == "$in":
        return sql.SQL("(metadata -> %s) = ANY(%s::jsonb[])"), [c.field, values]
    if c.op == "$nin":
        return sql.SQL("NOT coalesce((metadata -> %s) = ANY(%s::jsonb[]), false)"), [
            c.field, values]
    # Ordered comparisons see numbers only; any other JSON type makes the test false.
    return sql.SQL(
        "(CASE WHEN jsonb_typeof(metadata -> %s) = 'number'"
        " THEN (metadata ->> %s)::double precision END) " + _ORDERED_SQL[c.op] + " %s"
    ), [c.field, c.field, float(c.value)]


# -- the backend ---------------------------------------------------------------------


class PostgresBackend:
    """Memories and conversation turns in PostgreSQL with pgvector."""

    mode: Mode = "pgvector"

    def __init__(self, config: PostgresConfig | str) -> None:
        self.config = PostgresConfig(config) if isinstance(config, str) else config
        self._pool: AsyncConnectionPool[Any] | None = None
        self._dimension: int | None = None

    @property
    def location(self) -> str:
        return redact_url(self.config.url)

    def __repr__(self) -> str:
        return f"PostgresBackend({self.location!r})"

    # -- connections and errors --

    def _mapped(self) -> AbstractContextManager[None]:
        """Map driver errors to agentmem errors at this one boundary, keeping the cause."""
        return postgres_errors(self.config.url)

    async def _connect(self) -> psycopg.AsyncConnection[Any]:
        with self._mapped():
            return await psycopg.AsyncConnection.connect(
                self.config.url, autocommit=True, connect_timeout=int(self.config.connect_timeout)
            )

    async def _get_pool(self) -> AsyncConnectionPool[Any]:
        if self._pool is None:
            pool: AsyncConnectionPool[Any] = AsyncConnectionPool(
                self.config.url,
                min_size=self.config.pool_min,
                max_size=self.config.pool_max,
                open=False,
                configure=register_vector_async,
                kwargs={"row_factory": dict_row},
                timeout=self.config.connect_timeout,
            )
            with self._mapped():
                await pool.open(wait=True, timeout=self.config.connect_timeout)
            if self._pool is not None:  # a concurrent first call won the race: keep its pool
                await pool.close()
                return self._pool
            self._pool = pool
        return self._pool

    async def close(self) -> None:
        if self._pool is not None:
            await self._pool.close()
            self._pool = None

    # -- schema --

    async def init(self, info: StoreInfo) -> None:
        """Create the pgvector extension, apply pending migrations and record ``info``."""
        conn = await self._connect()
        try:
            with self._mapped():
                async with conn.transaction():
                    await conn.execute("SELECT pg_advisory_xact_lock(%s)", [schema.LOCK_KEY])
                    await conn.execute("CREATE EXTENSION IF NOT EXISTS vector")
                    await conn.execute(schema.migration_statements(1, 1)[0])  # meta table
                    recorded = await self._recorded(conn)
                    if recorded is not None:
                        _compare(recorded, info, self.location)
                    else:
                        await conn.execute(
                            "INSERT INTO agentmem_meta (key, value) VALUES"
                            " ('model_id', %s), ('dimension', %s)",
                            [info.model_id, str(info.dimension)],
                        )
                    await conn.execute(
                        "CREATE TABLE IF NOT EXISTS agentmem_migrations"
                        " (version int PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())"
                    )
                    version = await self._schema_version(conn)
                    for v in sorted(schema.MIGRATIONS):
                        if v > version:
                            for stmt in schema.migration_statements(v, info.dimension):
                                await conn.execute(stmt)
                            await conn.execute(
                                "INSERT INTO agentmem_migrations (version) VALUES (%s)", [v])
        finally:
            await conn.close()
        self._dimension = info.dimension

    async def check(self, info: StoreInfo) -> None:
        """Raise unless the schema is current and was built with ``info``'s model."""
        conn = await self._connect()
        try:
            with self._mapped():
                version = await self._schema_version(conn)
                recorded = await self._recorded(conn) if version else None
        finally:
            await conn.close()
        if version < schema.SCHEMA_VERSION or recorded is None:
            raise ConfigError(
                f"PostgreSQL at {self.location} has agentmem schema version {version}, this "
                f"agentmem needs {schema.SCHEMA_VERSION}: run `agentmem migrate` or call "
                "memory.init()"
            )
        _compare(recorded, info, self.location)
        self._dimension = info.dimension

    @staticmethod
    async def _schema_version(conn: psycopg.AsyncConnection[Any]) -> int:
        cur = await conn.execute("SELECT to_regclass('agentmem_migrations') IS NOT NULL")
        row = await cur.fetchone()
        if not row or not row[0]:
            return 0
        cur = await conn.execute("SELECT coalesce(max(version), 0) FROM agentmem_migrations")
        row = await cur.fetchone()
        return int(row[0]) if row else 0

    @staticmethod
    async def _recorded(conn: psycopg.AsyncConnection[Any]) -> StoreInfo | None:
        cur = await conn.execute("SELECT to_regclass('agentmem_meta') IS NOT NULL")
        row = await cur.fetchone()
        if not row or not row[0]:
            return None
        cur = await conn.execute("SELECT key, value FROM agentmem_meta")
        meta = {k: v for k, v in await cur.fetchall()}
        if "model_id" not in meta:
            return None
        return StoreInfo(meta["model_id"], int(meta["dimension"]))

    async def describe(self) -> dict[str, Any]:
        """Server facts for ``agentmem doctor``: versions, schema, indexes present."""
        conn = await self._connect()
        try:
            with self._mapped():
                cur = await conn.execute(
                    "SELECT current_setting('server_version'),"
                    " (SELECT extversion FROM pg_extension WHERE extname = 'vector')"
                )
                server, pgvector = (await cur.fetchone()) or (None, None)
                version = await self._schema_version(conn)
                recorded = await self._recorded(conn)
                cur = await conn.execute(
                    "SELECT indexname FROM pg_indexes WHERE tablename = ANY(%s)",
                    [[schema.MEMORIES, schema.TURNS]],
                )
                indexes = sorted(r[0] for r in await cur.fetchall())
        finally:
            await conn.close()
        return {
            "server_version": server,
            "pgvector_version": pgvector,
            "schema_version": version,
            "schema_expected": schema.SCHEMA_VERSION,
            "model_id": recorded.model_id if recorded else None,
            "dimension": recorded.dimension if recorded else None,
            "indexes": indexes,
            "missing_indexes": sorted(set(schema.EXPECTED_INDEXES) - set(indexes)),
        }

    # -- memories --

    def _check_vectors(self, vectors: Sequence[Vector]) -> None:
        for v in vectors:
            if self._dimension is not None and len(v) != self._dimension:
                raise DimensionMismatch(
                    f"vector has dimension {len(v)} but this store holds {self._dimension}"
                )

    async def upsert(self, memories: Sequence[Memory], vectors: Sequence[Vector]) -> None:
        """Insert or replace memories in one transaction: all rows or none."""
        await self._upsert(memories, vectors, pending=False)

    async def upsert_pending(self, memories: Sequence[Memory],
                             vectors: Sequence[Vector]) -> None:
        """Upsert and mark the rows as missing from the index, in one transaction."""
        await self._upsert(memories, vectors, pending=True)

    async def _upsert(self, memories: Sequence[Memory], vectors: Sequence[Vector], *,
                      pending: bool) -> None:
        if len(memories) != len(vectors):
            raise InvalidInput(f"{len(memories)} memories but {len(vectors)} vectors")
        self._check_vectors(vectors)
        rows = [
            (m.agent_id, m.id, m.memory_type.value, m.content, m.user_id, m.session_id,
             m.importance, Jsonb(m.metadata), m.source_ids, m.created_at, m.updated_at,
             m.expires_at, _vector(v), pending)
            for m, v in zip(memories, vectors)
        ]
        pool = await self._get_pool()
        with self._mapped():
            async with pool.connection() as conn, conn.cursor() as cur:
                await cur.executemany(_UPSERT, rows)

    async def query(
        self,
        agent_id: str,
        vector: Vector,
        *,
        k: int,
        memory_types: Sequence[MemoryType],
        where: FilterNode | None = None,
        with_vectors: bool = False,
    ) -> list[MemoryHit]:
        self._check_vectors([vector])
        cond, params = to_sql(where)
        scope = sql.SQL("agent_id = %s AND memory_type = ANY(%s) AND {} AND ({})").format(
            _UNEXPIRED, cond)
        args = [agent_id, [t.value for t in memory_types], *params]
        q = _vector(vector)
        cols = sql.SQL(_COLUMNS + (", embedding" if with_vectors else ""))
        pool = await self._get_pool()
        with self._mapped():
            async with pool.connection() as conn:
                rows: list[dict[str, Any]] = []
                if self.config.search == "hnsw":
                    await conn.execute("SET LOCAL hnsw.iterative_scan = strict_order")
                    await conn.execute(sql.SQL("SET LOCAL hnsw.ef_search = {}").format(
                        sql.Literal(max(int(self.config.hnsw_ef_search), k))))
                    cur = await conn.execute(sql.SQL(
                        "SELECT {cols}, embedding <=> %s AS distance FROM agentmem_memories"
                        " WHERE {scope} ORDER BY embedding <=> %s LIMIT %s"
                    ).format(cols=cols, scope=scope), [q, *args, q, k])
                    rows = await cur.fetchall()
                if len(rows) < k:
                    # Exact scan: complete by construction (see the module docstring).
                    cur = await conn.execute(sql.SQL(
                        "WITH scoped AS MATERIALIZED (SELECT {cols}, embedding <=> %s AS distance"
                        " FROM agentmem_memories WHERE {scope})"
                        " SELECT * FROM scoped ORDER BY distance, id LIMIT %s"
                    ).format(cols=cols, scope=scope), [q, *args, k])
                    rows = await cur.fetchall()
        return [MemoryHit(memory=_memory(r), score=1.0 - float(r["distance"]),
                          vector=_floats(r["embedding"]) if with_vectors else None)
                for r in rows]

    async def search_text(
        self,
        agent_id: str,
        text: str,
        *,
        k: int,
        memory_types: Sequence[MemoryType],
        where: FilterNode | None = None,
    ) -> list[MemoryHit]:
        """Full-text search on the generated ``tsvector``: any query word matches (OR)."""
        cond, params = to_sql(where)
        pool = await self._get_pool()
        with self._mapped():
            async with pool.connection() as conn:
                # plainto_tsquery ANDs the stemmed words; recall wants any of them, so swap & for |
                # and re-read the lexemes with 'simple' (no second stemming).
                # Rank normalisation 32 maps the rank into [0, 1).
                cur = await conn.execute(sql.SQL(
                    "SELECT {cols}, ts_rank_cd(content_tsv, q, 32) AS rank FROM agentmem_memories,"
                    " to_tsquery('simple', replace(plainto_tsquery('english', %s)::text, '&', '|')) q"
                    " WHERE agent_id = %s AND memory_type = ANY(%s) AND {alive} AND ({cond})"
                    " AND content_tsv @@ q ORDER BY rank DESC, id LIMIT %s"
                ).format(cols=sql.SQL(_COLUMNS), alive=_UNEXPIRED, cond=cond),
                    [text, agent_id, [t.value for t in memory_types], *params, k])
                rows = await cur.fetchall()
        return [MemoryHit(memory=_memory(r), score=float(r["rank"])) for r in rows]

    async def get(self, agent_id: str, ids: Sequence[str]) -> list[Memory]:
        if not ids:
            return []
        pool = await self._get_pool()
        with self._mapped():
            async with pool.connection() as conn:
                cur = await conn.execute(
                    f"SELECT {_COLUMNS} FROM agentmem_memories WHERE agent_id = %s AND id = ANY(%s)",
                    [agent_id, list(ids)],
                )
                found = {r["id"]: _memory(r) for r in await cur.fetchall()}
        return [found[i] for i in dict.fromkeys(ids) if i in found]

    async def list_memories(
        self,
        agent_id: str,
        *,
        memory_types: Sequence[MemoryType],
        where: FilterNode | None = None,
        limit: int | None = None,
        offset: int = 0,
    ) -> list[Memory]:
        cond, params = to_sql(where)
        pool = await self._get_pool()
        with self._mapped():
            async with pool.connection() as conn:
                cur = await conn.execute(sql.SQL(
                    "SELECT {cols} FROM agentmem_memories WHERE agent_id = %s"
                    " AND memory_type = ANY(%s) AND ({cond})"
                    " ORDER BY created_at, id LIMIT %s OFFSET %s"
                ).format(cols=sql.SQL(_COLUMNS), cond=cond),
                    [agent_id, [t.value for t in memory_types], *params, limit, offset])
                return [_memory(r) for r in await cur.fetchall()]

    async def delete(
        self,
        agent_id: str,
        *,
        ids: Sequence[str] | None = None,
        memory_types: Sequence[MemoryType],
        where: FilterNode | None = None,
    ) -> int:
        cond, params = to_sql(where)
        by_ids = sql.SQL("id = ANY(%s)") if ids is not None else sql.SQL("TRUE")
        id_params = [list(ids)] if ids is not None else []
        pool = await self._get_pool()
        with self._mapped():
            async with pool.connection() as conn:
                cur = await conn.execute(sql.SQL(
                    "DELETE FROM agentmem_memories WHERE agent_id = %s AND memory_type = ANY(%s)"
                    " AND {by_ids} AND ({cond})"
                ).format(by_ids=by_ids, cond=cond),
                    [agent_id, [t.value for t in memory_types], *id_params, *params])
                return int(cur.rowcount)

    async def count(
        self,
        agent_id: str,
        *,
        memory_types: Sequence[MemoryType],
        where: FilterNode | None = None,
    ) -> dict[MemoryType, int]:
        cond, params = to_sql(where)
        pool = await self._get_pool()
        with self._mapped():
            async with pool.connection() as conn:
                cur = await conn.execute(sql.SQL(
                    "SELECT memory_type, count(*) AS n FROM agentmem_memories WHERE agent_id = %s"
                    " AND memory_type = ANY(%s) AND ({}) GROUP BY memory_type"
                ).format(cond), [agent_id, [t.value for t in memory_types], *params])
                found = {r["memory_type"]: int(r["n"]) for r in await cur.fetchall()}
        return {t: found.get(t.value, 0) for t in memory_types}

    async def scan(self, agent_id: str | None = None, *, batch_size: int = 1000
                   ) -> AsyncIterator[tuple[list[Memory], list[list[float]]]]:
        """Every memory (of one agent, or all) with its vector, by (agent_id, id), in batches."""
        after: tuple[str, str] = ("", "")
        pool = await self._get_pool()
        while True:
            with self._mapped():
                async with pool.connection() as conn:
                    cur = await conn.execute(
                        f"SELECT {_COLUMNS}, embedding FROM agentmem_memories"
                        " WHERE (%s::text IS NULL OR agent_id = %s) AND (agent_id, id) > (%s, %s)"
                        " ORDER BY agent_id, id LIMIT %s",
                        [agent_id, agent_id, *after, batch_size])
                    rows = await cur.fetchall()
            if not rows:
                return
            yield [_memory(r) for r in rows], [_floats(r["embedding"]) for r in rows]
            after = (rows[-1]["agent_id"], rows[-1]["id"])

    async def delete_expired(self, agent_id: str | None = None) -> int:
        """Delete memories whose ``expires_at`` has passed; returns how many."""
        pool = await self._get_pool()
        with self._mapped():
            async with pool.connection() as conn:
                cur = await conn.execute(
                    "DELETE FROM agentmem_memories WHERE expires_at <= now()"
                    " AND (%s::text IS NULL OR agent_id = %s)", [agent_id, agent_id])
                return int(cur.rowcount)

    async def distinct(self, agent_id: str, key: str, *,
                       memory_types: Sequence[MemoryType]) -> list[object]:
        """Distinct JSON values of ``metadata[key]`` among an agent's memories."""
        pool = await self._get_pool()
        with self._mapped():
            async with pool.connection() as conn:
                cur = await conn.execute(
                    "SELECT DISTINCT metadata -> %s AS v FROM agentmem_memories"
                    " WHERE agent_id = %s AND memory_type = ANY(%s) AND metadata ? %s",
                    [key, agent_id, [t.value for t in memory_types], key])
                return [r["v"] for r in await cur.fetchall()]

    # -- hybrid-mode index bookkeeping --

    async def pending_count(self, agent_id: str | None = None) -> int:
        """How many memories Chroma does not have yet (all agents when None)."""
        pool = await self._get_pool()
        with self._mapped():
            async with pool.connection() as conn:
                cur = await conn.execute(
                    "SELECT count(*) AS n FROM agentmem_memories WHERE needs_index"
                    " AND (%s::text IS NULL OR agent_id = %s)", [agent_id, agent_id])
                row = await cur.fetchone()
        return int(row["n"]) if row else 0

    async def mark_pending(self, agent_id: str | None = None) -> int:
        """Mark every memory (of one agent, or all) as missing from the index."""
        pool = await self._get_pool()
        with self._mapped():
            async with pool.connection() as conn:
                cur = await conn.execute(
                    "UPDATE agentmem_memories SET needs_index = true"
                    " WHERE %s::text IS NULL OR agent_id = %s", [agent_id, agent_id])
                return int(cur.rowcount)

    async def drain_pending(self, write: IndexWriter, *, agent_id: str | None = None,
                            ids: Sequence[str] | None = None, batch_size: int = 1000) -> int:
        """Hand marked rows to ``write`` in batches, then unmark them; returns how many.

        Rows are locked while ``write`` runs, so the index always receives the row as it
        is in Postgres, and a concurrent update waits and is indexed after. If ``write``
        raises, the rows stay marked and the error propagates.
        """
        done = 0
        after: tuple[str, str] = ("", "")
        pool = await self._get_pool()
        while True:
            with self._mapped():
                async with pool.connection() as conn:
                    cur = await conn.execute(
                        f"SELECT {_COLUMNS}, embedding FROM agentmem_memories"
                        " WHERE needs_index AND (%s::text IS NULL OR agent_id = %s)"
                        " AND (%s::text[] IS NULL OR id = ANY(%s)) AND (agent_id, id) > (%s, %s)"
                        " ORDER BY agent_id, id LIMIT %s FOR UPDATE SKIP LOCKED",
                        [agent_id, agent_id, ids, ids, *after, batch_size],
                    )
                    rows = await cur.fetchall()
                    if not rows:
                        return done
                    await write([_memory(r) for r in rows],
                                [_floats(r["embedding"]) for r in rows])
                    await conn.execute(
                        "UPDATE agentmem_memories SET needs_index = false"
                        " WHERE (agent_id, id) IN (SELECT * FROM unnest(%s::text[], %s::text[]))",
                        [[r["agent_id"] for r in rows], [r["id"] for r in rows]],
                    )
            done += len(rows)
            after = (rows[-1]["agent_id"], rows[-1]["id"])

    # -- conversation turns --

    async def add_turns(self, turns: Sequence[ChatTurn]) -> None:
        await self._write_turns(turns)

    async def replace_history(self, agent_id: str, session_id: str,
                            turns: Sequence[ChatTurn]) -> None:
        """Delete and re-insert a session's turns in one transaction."""
        await self._write_turns(turns, replace=(agent_id, session_id))

    async def _write_turns(self, turns: Sequence[ChatTurn],
                           replace: tuple[str, str] | None = None) -> None:
        rows = [(t.agent_id, t.session_id, t.role, t.content, Jsonb(t.extra), t.created_at)
                for t in turns]
        pool = await self._get_pool()
        with self._mapped():
            async with pool.connection() as conn, conn.cursor() as cur:
                if replace is not None:
                    await cur.execute("DELETE FROM agentmem_turns WHERE agent_id = %s"
                                      " AND session_id = %s", list(replace))
                await cur.executemany(
                    "INSERT INTO agentmem_turns (agent_id, session_id, role, content, extra,"
                    " created_at) VALUES (%s, %s, %s, %s, %s, %s)", rows)

    async def sessions(self, agent_id: str) -> list[str]:
        pool = await self._get_pool()
        with self._mapped():
            async with pool.connection() as conn:
                cur = await conn.execute(
                    "SELECT session_id FROM agentmem_turns WHERE agent_id = %s"
                    " GROUP BY session_id ORDER BY min(seq)", [agent_id])
                return [r["session_id"] for r in await cur.fetchall()]

    async def history(
        self, agent_id: str, session_id: str, limit: int | None = None
    ) -> list[ChatTurn]:
        pool = await self._get_pool()
        with self._mapped():
            async with pool.connection() as conn:
                cur = await conn.execute(
                    "SELECT * FROM (SELECT agent_id, session_id, role, content, extra, created_at,"
                    " seq FROM agentmem_turns WHERE agent_id = %s AND session_id = %s"
                    " ORDER BY seq DESC LIMIT %s) t ORDER BY seq",
                    [agent_id, session_id, limit])
                rows = await cur.fetchall()
        return [ChatTurn(**{k: v for k, v in r.items() if k != "seq"}) for r in rows]

    async def clear_history(self, agent_id: str, session_id: str) -> int:
        pool = await self._get_pool()
        with self._mapped():
            async with pool.connection() as conn:
                cur = await conn.execute(
                    "DELETE FROM agentmem_turns WHERE agent_id = %s AND session_id = %s",
                    [agent_id, session_id])
                return int(cur.rowcount)

    async def history_stats(self, agent_id: str) -> tuple[int, int]:
        pool = await self._get_pool()
        with self._mapped():
            async with pool.connection() as conn:
                cur = await conn.execute(
                    "SELECT count(*) AS n, count(DISTINCT session_id) AS s FROM agentmem_turns"
                    " WHERE agent_id = %s", [agent_id])
                row = await cur.fetchone()
        return (int(row["n"]), int(row["s"])) if row else (0, 0)


def _compare(recorded: StoreInfo, info: StoreInfo, where: str) -> None:
    if recorded != info:
        raise DimensionMismatch(
            f"the store at {where} was built with model {recorded.model_id!r} "
            f"(dimension {recorded.dimension}) but this memory uses {info.model_id!r} "
            f"(dimension {info.dimension}); use the original embedder, or a new database "
            "and re-import"
        )


def _vector(v: Vector) -> Any:
    import numpy as np

    arr = np.asarray(v, dtype=np.float32)
    if not np.all(np.isfinite(arr)):
        raise InvalidInput("vectors must contain finite numbers only (no NaN or infinity)")
    return arr


def _floats(v: Any) -> list[float]:
    """A vector column as a list: pgvector < 0.4 returns numpy arrays, later a Vector."""
    out: list[float] = v.tolist() if hasattr(v, "tolist") else v.to_list()
    return out


def _memory(r: dict[str, Any]) -> Memory:
    return Memory(
        id=r["id"], content=r["content"], memory_type=MemoryType(r["memory_type"]),
        agent_id=r["agent_id"], user_id=r["user_id"], session_id=r["session_id"],
        importance=r["importance"], metadata=r["metadata"], source_ids=list(r["source_ids"]),
        created_at=r["created_at"], updated_at=r["updated_at"], expires_at=r["expires_at"],
    )


