"""PostgreSQL + pgvector backend: the source of truth in pgvector and hybrid modes.

psycopg 3 with an async pool of autocommit connections (a read is one round trip);
every statement is parameterised. Writes are a binary COPY into a temporary staging
table and one upsert from it, in one transaction.

Recall plans, chosen per query from what is known about the agent:

- **exact** (every agent without an ANN index): the B-tree on ``(agent_id, memory_type,
  created_at)`` finds the agent's rows and a top-k sort ranks them. There is no global
  vector index, so the planner cannot post-filter an HNSW scan into a short result:
  complete by construction.
- **ann** (agents given a partial HNSW index by :meth:`PostgresBackend.optimize`, whose
  predicate is ``agent_id = <that agent>``, so nothing is post-filtered by agent):
  pgvector's iterative scan, re-ranked; a short result falls back to the exact plan.
"""

from __future__ import annotations

import functools
import hashlib
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from contextlib import AbstractContextManager, asynccontextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal, TypeVar

from ..embeddings import spec_of
from ..errors import ConfigError, DimensionMismatch, InvalidInput, NotFound
from ..filters import And, Comparison, FilterNode, Or
from ..models import ChatTurn, Memory, MemoryHit, MemoryLink, MemoryType, RelatedMemory, tier_for
from ..retrieval.lexical import K1, B, analyze, tsvector_text
from ..settings import redact_url
from . import _pg_links as _links
from . import _pg_schema as schema
from ._pg_errors import Attempt, postgres_errors, retrying
from ._vectors import as_matrix
from .base import (
    Direction,
    ExpiredCounts,
    IndexRemover,
    IndexWriter,
    Mode,
    StoreInfo,
    StoreSize,
    Vector,
    Vectors,
)

try:
    import psycopg
    from pgvector.psycopg import register_vector_async
    from psycopg import sql
    from psycopg.rows import dict_row, tuple_row
    from psycopg.types.json import Jsonb
    from psycopg_pool import AsyncConnectionPool, PoolTimeout
except ImportError as exc:  # pragma: no cover - exercised only without the extra
    raise ImportError(
        "the PostgreSQL backend needs psycopg, psycopg-pool and pgvector: "
        "pip install 'agentmem-hybrid[postgres]'"
    ) from exc

__all__ = ["AnnIndex", "PostgresBackend", "PostgresConfig", "redact_url", "to_sql"]

T = TypeVar("T")

_COLUMN_NAMES = ("agent_id", "id", "memory_type", "content", "user_id", "session_id",
                 "importance", "metadata", "source_ids", "created_at", "updated_at", "expires_at",
                 "tier")
_COLUMNS = ", ".join(_COLUMN_NAMES)
_M_COLUMNS = ", ".join(f"m.{c}" for c in _COLUMN_NAMES)  # the same, of the table aliased m
_STAGE_COLUMNS = (
    "ord bigint, agent_id text, id text, memory_type text, content text, user_id text,"
    " session_id text, importance double precision, metadata jsonb, source_ids text[],"
    " created_at timestamptz, updated_at timestamptz, expires_at timestamptz, tier text,"
    " embedding vector,"
    " lexemes text, lexeme_count int"
)
_STAGE_TYPES = ["int8", "text", "text", "text", "text", "text", "text", "float8", "jsonb",
                "text[]", "timestamptz", "timestamptz", "timestamptz", "text", "vector", "text",
                "int4"]
_STAGE = sql.SQL("CREATE TEMP TABLE IF NOT EXISTS agentmem_stage (" + _STAGE_COLUMNS
                 + ") ON COMMIT DELETE ROWS")
_COPY = sql.SQL("COPY agentmem_stage (ord, " + _COLUMNS + ", embedding, lexemes, lexeme_count)"
                " FROM STDIN (FORMAT BINARY)")
_MERGE = sql.SQL(
    f"INSERT INTO agentmem_memories ({_COLUMNS}, embedding, lexemes, lexeme_count)"
    f" SELECT {_COLUMNS}, embedding, lexemes::tsvector, lexeme_count FROM agentmem_stage"
    " ORDER BY agent_id, id"  # rows locked in one order by every writer: no deadlock
    " ON CONFLICT (agent_id, id) DO UPDATE SET"
    " memory_type = EXCLUDED.memory_type, content = EXCLUDED.content,"
    " user_id = EXCLUDED.user_id, session_id = EXCLUDED.session_id,"
    " importance = EXCLUDED.importance, metadata = EXCLUDED.metadata,"
    " source_ids = EXCLUDED.source_ids, created_at = EXCLUDED.created_at,"
    " updated_at = EXCLUDED.updated_at, expires_at = EXCLUDED.expires_at, tier = EXCLUDED.tier,"
    " embedding = EXCLUDED.embedding, lexemes = EXCLUDED.lexemes,"
    " lexeme_count = EXCLUDED.lexeme_count"
)
# A new seq on every enqueue: a drain removes only the entries it has copied (same seq).
_ENQUEUE = (" INSERT INTO agentmem_index_queue (agent_id, id) SELECT agent_id, id FROM {}"
            " ORDER BY agent_id, id"
            " ON CONFLICT (agent_id, id) DO UPDATE SET seq = nextval('agentmem_index_queue_seq')")
# The n memories of one session created last before each given time (contextual indexing).
_PRECEDING = (f"SELECT DISTINCT ON (m.id) {_M_COLUMNS}"
              " FROM unnest(%s::timestamptz[]) AS t(at) CROSS JOIN LATERAL ("
              f" SELECT {_COLUMNS} FROM agentmem_memories WHERE agent_id = %s"
              " AND session_id = %s AND memory_type = %s AND created_at < t.at AND {alive}"
              " ORDER BY created_at DESC, id DESC LIMIT %s) AS m")
# One cleanup batch: the oldest-expired rows, deleted (and archived, and queued for the
# index) in one statement, so each batch commits whole; counted per agent and type.
_ALL_COLUMNS = _COLUMNS + ", embedding, lexemes, lexeme_count"
_CLEANUP = (
    "WITH doomed AS (SELECT agent_id, id FROM agentmem_memories WHERE expires_at <= %(cutoff)s"
    " AND (%(agent)s::text IS NULL OR agent_id = %(agent)s) ORDER BY expires_at, agent_id, id"
    " LIMIT %(batch)s FOR UPDATE SKIP LOCKED),"
    " gone AS (DELETE FROM agentmem_memories m USING doomed d"
    f" WHERE m.agent_id = d.agent_id AND m.id = d.id RETURNING {_M_COLUMNS},"
    " m.embedding, m.lexemes, m.lexeme_count){archive}{queue}"
    " SELECT agent_id, memory_type, count(*) AS n FROM gone GROUP BY 1, 2"
)
_ARCHIVE = (f", archived AS (INSERT INTO agentmem_archive ({_ALL_COLUMNS})"
            f" SELECT {_ALL_COLUMNS} FROM gone)")
_DRAIN_LOCK = 0x61676D71  # "agmq": advisory lock namespace, one drainer per agent
_TRY_DRAIN = "SELECT pg_try_advisory_lock(%s, hashtext(%s)) AS got"
_WAIT_DRAIN = "SELECT true AS got FROM pg_advisory_lock(%s, hashtext(%s))"
_SIZED_TABLES = (schema.MEMORIES, schema.TURNS, schema.QUEUE, schema.LINKS, schema.ARCHIVE,
                 schema.ANN, schema.META, schema.MIGRATIONS_TABLE)
_UNEXPIRED = sql.SQL("(expires_at IS NULL OR expires_at > now())")


def _enqueuing(statement: sql.Composable) -> sql.Composed:
    """``statement`` (a DELETE or UPDATE of memories) also queuing the rows it touched for
    the index, in the same statement; yields one row per row touched."""
    return sql.SQL("WITH touched AS ({} RETURNING m.agent_id, m.id){} RETURNING 1").format(
        statement, sql.SQL(_ENQUEUE).format(sql.Identifier("touched")))


@dataclass(frozen=True)
class PostgresConfig:
    """Connection and search options; ``url`` is any libpq URL."""

    url: str
    pool_min: int = 1
    pool_max: int = 10
    connect_timeout: float = 10.0
    retries: int = 3  # attempts after a lost connection, deadlock or serialization failure
    statement_timeout: float | None = None  # seconds per statement on pooled connections
    search: Literal["auto", "exact"] = "auto"  # exact: never use the per-agent ANN indexes
    ef_search: int | None = None  # at least this hnsw.ef_search (None: optimize's choice)
    ann_refresh_seconds: float = 30.0  # how stale this process's list of ANN indexes may be

    def __post_init__(self) -> None:
        if isinstance(self.retries, bool) or not isinstance(self.retries, int) or self.retries < 1:
            raise ConfigError(f"retries must be an int >= 1, got {self.retries!r}")
        if self.statement_timeout is not None and not self.statement_timeout > 0:
            raise ConfigError("statement_timeout must be positive seconds or None, got "
                              f"{self.statement_timeout!r}")
        if self.search not in ("auto", "exact"):
            raise ConfigError(f"search must be 'auto' or 'exact', got {self.search!r}")


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


@dataclass(frozen=True)
class AnnIndex:
    """A partial HNSW index serving one large agent, as recorded by ``build_ann``."""

    agent_id: str
    index_name: str
    m: int
    ef_construction: int
    ef_search: int
    rows_at_build: int


class PostgresBackend:
    """Memories and conversation turns in PostgreSQL with pgvector."""

    mode: Mode = "pgvector"

    def __init__(self, config: PostgresConfig | str) -> None:
        self.config = PostgresConfig(config) if isinstance(config, str) else config
        self._pool: AsyncConnectionPool[Any] | None = None
        self._dimension: int | None = None
        self._ann: dict[str, AnnIndex] = {}
        self._ann_read_at = float("-inf")

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

    async def _configure(self, conn: psycopg.AsyncConnection[Any]) -> None:
        """Prepare a new pooled connection: pgvector's types, the statement timeout."""
        await register_vector_async(conn)
        if self.config.statement_timeout is not None:
            await conn.execute(sql.SQL("SET statement_timeout = {}").format(
                sql.Literal(f"{int(self.config.statement_timeout * 1000)}ms")))

    async def _retry(self, run: Callable[[Attempt], Awaitable[T]], *,
                     idempotent: bool = True) -> T:
        """``run`` with the configured retries (see :func:`._pg_errors.retrying`)."""
        return await retrying(run, attempts=self.config.retries, idempotent=idempotent,
                              on_drop=self._drop_dead)

    async def _drop_dead(self) -> None:
        """After a lost connection: have the pool test its idle connections and drop the
        dead ones (after a server restart all of them are), so a retry gets a live one."""
        if self._pool is not None:
            with self._mapped():
                await self._pool.check()

    async def _get_pool(self) -> AsyncConnectionPool[Any]:
        if self._pool is None:
            pool: AsyncConnectionPool[Any] = AsyncConnectionPool(
                self.config.url,
                min_size=self.config.pool_min,
                max_size=self.config.pool_max,
                open=False,
                configure=self._configure,
                kwargs={"row_factory": dict_row, "autocommit": True},
                timeout=self.config.connect_timeout,
            )
            with self._mapped():
                await pool.open(wait=True, timeout=self.config.connect_timeout)
            if self._pool is not None:  # a concurrent first call won the race: keep its pool
                await pool.close()
                return self._pool
            self._pool = pool
        return self._pool

    @asynccontextmanager
    async def _conn(self) -> AsyncIterator[psycopg.AsyncConnection[Any]]:
        """A pooled autocommit connection, driver errors mapped."""
        pool = await self._get_pool()
        with self._mapped():
            try:
                async with pool.connection() as conn:
                    yield conn
            except PoolTimeout:
                await self._discard(pool)
                raise

    async def _discard(self, pool: AsyncConnectionPool[Any]) -> None:
        """Forget a pool that could not hand out a connection in time: the next call opens
        a new one, which connects at once (a failing pool retries only after a backoff, so
        it would lag behind a server that has just been restarted)."""
        if self._pool is pool:
            self._pool = None
            await pool.close(timeout=1.0)

    @asynccontextmanager
    async def _transaction(self) -> AsyncIterator[psycopg.AsyncConnection[Any]]:
        async with self._conn() as conn, conn.transaction():
            yield conn

    async def _fetch(self, query: sql.Composable | str,
                     params: Sequence[Any] | Mapping[str, Any] = ()) -> list[dict[str, Any]]:
        """Run one statement (retried: agentmem's single statements are idempotent)."""
        async def run(_: Attempt) -> list[dict[str, Any]]:
            async with self._conn() as conn:
                cur = await conn.execute(query, params)  # type: ignore[arg-type]
                return await cur.fetchall()
        return await self._retry(run)

    async def _execute(self, query: sql.Composable | str, params: Sequence[Any] = ()) -> int:
        """Run one statement (retried like :meth:`_fetch`); returns the rows it touched."""
        async def run(_: Attempt) -> int:
            async with self._conn() as conn:
                cur = await conn.execute(query, params)  # type: ignore[arg-type]
                return int(cur.rowcount)
        return await self._retry(run)

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
                            if v in _BACKFILLS:
                                await _BACKFILLS[v](conn)
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
                    [[schema.MEMORIES, schema.TURNS, schema.QUEUE, schema.ANN, schema.LINKS,
                      schema.ARCHIVE]],
                )
                indexes = sorted(r[0] for r in await cur.fetchall())
                cur = await conn.execute(
                    "SELECT c.relname FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid"
                    " JOIN pg_class t ON t.oid = i.indrelid"
                    " WHERE t.relname = ANY(%s) AND NOT (i.indisvalid AND i.indisready)",
                    [[schema.MEMORIES, schema.TURNS, schema.QUEUE, schema.ANN, schema.LINKS,
                      schema.ARCHIVE]],
                )
                invalid = sorted(r[0] for r in await cur.fetchall())
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
            "invalid_indexes": invalid,  # a failed CREATE INDEX CONCURRENTLY leaves these
        }

    # -- writing --

    async def upsert(self, memories: Sequence[Memory], vectors: Vectors, *,
                     lexical_texts: Sequence[str] | None = None) -> None:
        """Insert or replace memories in one transaction: all rows or none."""
        await self._upsert(memories, vectors, lexical_texts, pending=False)

    async def upsert_pending(self, memories: Sequence[Memory], vectors: Vectors, *,
                             lexical_texts: Sequence[str] | None = None) -> None:
        """Upsert and queue the rows for the index, in one transaction."""
        await self._upsert(memories, vectors, lexical_texts, pending=True)

    async def _upsert(self, memories: Sequence[Memory], vectors: Vectors,
                      lexical_texts: Sequence[str] | None, *, pending: bool) -> None:
        if len(memories) != len(vectors):
            raise InvalidInput(f"{len(memories)} memories but {len(vectors)} vectors")
        if lexical_texts is not None and len(lexical_texts) != len(memories):
            raise InvalidInput(f"{len(memories)} memories but {len(lexical_texts)} lexical texts")
        if not memories:
            return
        matrix = as_matrix(vectors, self._dimension)
        # One row per (agent_id, id), the last given winning, as consecutive upserts would;
        # staged in (agent_id, id) order, the order every writer locks rows in.
        last = {(m.agent_id, m.id): i for i, m in enumerate(memories)}
        order = [last[key] for key in sorted(last)]
        terms_of = [analyze(memories[i].content if lexical_texts is None else lexical_texts[i])
                    for i in order]
        # A keyed upsert: running it again after a commit whose answer was lost is harmless.
        await self._retry(lambda _: self._merge(memories, matrix, order, terms_of, pending))

    async def _merge(self, memories: Sequence[Memory], matrix: Any, order: list[int],
                     terms_of: list[list[str]], pending: bool) -> None:
        """One try of an upsert: COPY into the staging table, merge, queue; one transaction."""
        async with self._conn() as conn:
            if not getattr(conn, "_agentmem_stage", False):
                await conn.execute(_STAGE)  # per session, outside the transaction below
                conn._agentmem_stage = True  # type: ignore[attr-defined]
            async with conn.transaction():
                async with conn.cursor().copy(_COPY) as copy:
                    copy.set_types(_STAGE_TYPES)
                    for i, terms in zip(order, terms_of, strict=True):
                        m = memories[i]
                        await copy.write_row((
                            i, m.agent_id, m.id, m.memory_type.value, m.content, m.user_id,
                            m.session_id, m.importance, Jsonb(m.metadata), m.source_ids,
                            m.created_at, m.updated_at, m.expires_at,
                            (m.tier or tier_for(m.importance)).value, matrix[i],
                            tsvector_text(terms), len(terms)))
                await conn.execute(_MERGE)
                if pending:
                    await conn.execute(sql.SQL(_ENQUEUE).format(sql.Identifier("agentmem_stage")))

    # -- recall --

    async def _ann_for(self, agent_id: str) -> AnnIndex | None:
        """The agent's ANN index, from a list re-read at most every ``ann_refresh_seconds``.

        A stale list is harmless: an index it misses means the exact plan, one it still
        names after a drop means the planner sorts exactly anyway.
        """
        if self.config.search == "exact":
            return None
        if time.monotonic() - self._ann_read_at > self.config.ann_refresh_seconds:
            rows = await self._fetch("SELECT agent_id, index_name, m, ef_construction, ef_search,"
                                     " rows_at_build FROM agentmem_ann_indexes")
            self._ann = {r["agent_id"]: AnnIndex(**r) for r in rows}
            self._ann_read_at = time.monotonic()
        return self._ann.get(agent_id)

    async def query(self, agent_id: str, vector: Vector, *, k: int,
                    memory_types: Sequence[MemoryType], where: FilterNode | None = None,
                    with_vectors: bool = False, plan: Literal["auto", "exact"] = "auto",
                    ef_search: int | None = None) -> list[MemoryHit]:
        """The ``k`` nearest; ``plan="exact"`` and ``ef_search`` are for probes (optimize)."""
        q = as_matrix([vector], self._dimension, "query vector")[0]
        cond, params = to_sql(where)
        args = [agent_id, [t.value for t in memory_types], *params]

        def statement(kind: str) -> sql.Composed | str:
            return _recall_text(kind, with_vectors) if where is None else _recall_sql(
                kind, with_vectors, cond)

        ann = await self._ann_for(agent_id)
        async with self._conn() as conn:
            if ann is None:
                # No vector index can serve this agent: the planner's only way is the B-tree
                # and a top-k sort, exact and complete.
                cur = await conn.execute(statement("exact"), [q, *args, k])
                return _hits(await cur.fetchall(), with_vectors)
            if plan == "auto":
                ef = max(ef_search or max(ann.ef_search, self.config.ef_search or 0), k)
                if getattr(conn, "_agentmem_ef", None) != ef:  # session settings, once per value
                    await conn.execute(sql.SQL("SET hnsw.ef_search = {}; SET hnsw.iterative_scan"
                                               " = relaxed_order").format(sql.Literal(ef)))
                    conn._agentmem_ef = ef  # type: ignore[attr-defined]
                cur = await conn.execute(statement("ann"), [q, *args, q, k])
                rows = await cur.fetchall()
                if len(rows) == k:
                    rows.sort(key=lambda r: (r["distance"], r["id"]))  # relaxed order: re-rank
                    return _hits(rows, with_vectors)
            # Short (filters removed more than the scan looked at), or asked for: exact, and
            # fenced from the agent's index, which the planner could otherwise walk again.
            cur = await conn.execute(statement("fenced"), [q, *args, k, agent_id])
            return _hits(await cur.fetchall(), with_vectors)

    async def search_text(self, agent_id: str, text: str, *, k: int,
                          memory_types: Sequence[MemoryType], where: FilterNode | None = None,
                          with_vectors: bool = False) -> list[MemoryHit]:
        """BM25 over the agent's memories (see :mod:`agentmem.retrieval.lexical`).

        Any query term matches (OR). Document frequencies, the corpus size and the mean
        length are read at query time from the rows in scope, so they are always exact.
        """
        terms = sorted(set(analyze(text)))
        if not terms:
            return []
        cond, params = to_sql(where)
        scope = [agent_id, [t.value for t in memory_types], *params]
        tsquery = " | ".join(f"'{t}'" for t in terms)  # terms are letters and digits only
        mcols = _M_COLUMNS + (", m.embedding" if with_vectors else "")
        rows = await self._fetch(sql.SQL(_BM25).format(
            scope=sql.SQL(_SCOPE).format(alive=_UNEXPIRED, cond=cond), mcols=sql.SQL(mcols),
            k1=sql.Literal(K1), b=sql.Literal(B)),
            [*scope, *scope, tsquery, terms, k, agent_id])
        return [MemoryHit(memory=_memory(r), score=float(r["score"]),
                          vector=_floats(r["embedding"]) if with_vectors else None) for r in rows]

    # -- reading and deleting --

    async def preceding(self, agent_id: str, session_id: str, memory_type: MemoryType, *,
                        before: Sequence[datetime], n: int) -> list[Memory]:
        """For each time in ``before``, the ``n`` memories of the session created last before it."""
        if not before or n < 1:
            return []
        rows = await self._fetch(sql.SQL(_PRECEDING).format(alive=_UNEXPIRED),
                                 [list(before), agent_id, session_id, memory_type.value, n])
        return [_memory(r) for r in rows]

    async def get(self, agent_id: str, ids: Sequence[str]) -> list[Memory]:
        if not ids:
            return []
        rows = await self._fetch(sql.SQL(f"SELECT {_COLUMNS} FROM agentmem_memories"
                                         " WHERE agent_id = %s AND id = ANY(%s) AND {}").format(
            _UNEXPIRED), [agent_id, list(ids)])
        found = {r["id"]: _memory(r) for r in rows}
        return [found[i] for i in dict.fromkeys(ids) if i in found]

    async def list_memories(self, agent_id: str, *, memory_types: Sequence[MemoryType],
                            where: FilterNode | None = None, limit: int | None = None,
                            offset: int = 0) -> list[Memory]:
        cond, params = to_sql(where)
        rows = await self._fetch(sql.SQL(
            "SELECT {cols} FROM agentmem_memories WHERE agent_id = %s AND memory_type = ANY(%s)"
            " AND {alive} AND ({cond}) ORDER BY created_at, id LIMIT %s OFFSET %s"
        ).format(cols=sql.SQL(_COLUMNS), alive=_UNEXPIRED, cond=cond),
            [agent_id, [t.value for t in memory_types], *params, limit, offset])
        return [_memory(r) for r in rows]

    def _delete_sql(self, agent_id: str, ids: Sequence[str] | None,
                    memory_types: Sequence[MemoryType], where: FilterNode | None
                    ) -> tuple[sql.Composable, list[Any]]:
        cond, params = to_sql(where)
        by_ids = sql.SQL("id = ANY(%s)") if ids is not None else sql.SQL("TRUE")
        # The rows are locked in id order first, the order every writer locks them in.
        return sql.SQL(
            "DELETE FROM agentmem_memories m USING (SELECT agent_id, id FROM agentmem_memories"
            " WHERE agent_id = %s AND memory_type = ANY(%s) AND {by_ids} AND ({cond})"
            " ORDER BY id FOR UPDATE) l WHERE m.agent_id = l.agent_id AND m.id = l.id"
        ).format(by_ids=by_ids, cond=cond), [
            agent_id, [t.value for t in memory_types],
            *([list(ids)] if ids is not None else []), *params]

    async def delete(self, agent_id: str, *, ids: Sequence[str] | None = None,
                     memory_types: Sequence[MemoryType],
                     where: FilterNode | None = None) -> int:
        return await self._execute(*self._delete_sql(agent_id, ids, memory_types, where))

    async def delete_pending(self, agent_id: str, *, ids: Sequence[str] | None = None,
                             memory_types: Sequence[MemoryType],
                             where: FilterNode | None = None) -> int:
        """Delete, and queue the deleted ids so the index drops them too (one statement)."""
        delete, params = self._delete_sql(agent_id, ids, memory_types, where)
        return len(await self._fetch(_enqueuing(delete), params))

    # -- links --

    async def link(self, agent_id: str, links: Sequence[MemoryLink]) -> int:
        """Record links, all or none; returns how many were new (existing ones are kept)."""
        if not links:
            return 0
        ends = sorted({i for link in links for i in (link.source_id, link.target_id)})
        async with self._conn() as conn, conn.transaction():
            cur = await conn.execute(sql.SQL("SELECT id FROM agentmem_memories WHERE agent_id = %s"
                                             " AND id = ANY(%s) AND {} FOR SHARE").format(_UNEXPIRED),
                                     [agent_id, ends])
            missing = sorted(set(ends) - {r["id"] for r in await cur.fetchall()})
            if missing:
                raise NotFound(f"cannot link: agent {agent_id!r} has no memory "
                               f"{', '.join(map(repr, missing[:5]))}; link stored memories only")
            cur = await conn.execute(_links.INSERT_LINKS, [
                agent_id, [x.source_id for x in links], [x.relation for x in links],
                [x.target_id for x in links], [x.created_at for x in links]])
            return len(await cur.fetchall())

    async def unlink(self, agent_id: str, source_id: str, target_id: str,
                     relation: str | None = None) -> int:
        """Remove the links source → target (of one relation, or all); returns how many."""
        return await self._execute(_links.UNLINK,
                                   [agent_id, source_id, target_id, relation, relation])

    async def links(self, agent_id: str, ids: Sequence[str]) -> list[MemoryLink]:
        """Every link from or to one of ``ids``, oldest first."""
        rows = await self._fetch(_links.LINKS_OF, [agent_id, list(ids), list(ids)])
        return [_links.link_of(r) for r in rows]

    async def related(self, agent_id: str, ids: Sequence[str], *, relation: str | None = None,
                      depth: int = 1, direction: Direction = "both") -> list[RelatedMemory]:
        """Unexpired memories within ``depth`` links of ``ids`` (not ``ids`` themselves),
        nearest first; each once, by its shallowest path."""
        if not ids:
            return []
        rows = await self._fetch(
            sql.SQL(_links.WALK).format(columns=sql.SQL(_M_COLUMNS), alive=_UNEXPIRED),
            {"agent": agent_id, "ids": list(ids), "rel": relation, "depth": depth,
             "out": direction in ("out", "both"), "in": direction in ("in", "both")})
        return [RelatedMemory.model_construct(
            memory=_memory(r), relation=r["link_relation"], depth=int(r["link_depth"]),
            via=r["link_via"], outgoing=bool(r["link_outgoing"])) for r in rows]

    # -- expiry --

    async def set_expiry(self, agent_id: str, ids: Sequence[str], expires_at: datetime | None,
                         *, pending: bool = False) -> int:
        """Give unexpired memories a new expiry (None: never); queue them for the index
        with ``pending``. Returns how many changed."""
        if not ids:
            return 0
        update = sql.SQL(
            "UPDATE agentmem_memories m SET expires_at = %s FROM (SELECT agent_id, id FROM"
            " agentmem_memories WHERE agent_id = %s AND id = ANY(%s) AND {} ORDER BY id"
            " FOR UPDATE) l WHERE m.agent_id = l.agent_id AND m.id = l.id").format(_UNEXPIRED)
        params = [expires_at, agent_id, list(ids)]
        if not pending:
            return await self._execute(update, params)
        return len(await self._fetch(_enqueuing(update), params))

    async def count(self, agent_id: str, *, memory_types: Sequence[MemoryType],
                    where: FilterNode | None = None) -> dict[MemoryType, int]:
        cond, params = to_sql(where)
        rows = await self._fetch(sql.SQL(
            "SELECT memory_type, count(*) AS n FROM agentmem_memories WHERE agent_id = %s"
            " AND memory_type = ANY(%s) AND {} AND ({}) GROUP BY memory_type"
        ).format(_UNEXPIRED, cond), [agent_id, [t.value for t in memory_types], *params])
        found = {r["memory_type"]: int(r["n"]) for r in rows}
        return {t: found.get(t.value, 0) for t in memory_types}

    async def scan(self, agent_id: str | None = None, *, batch_size: int = 1000
                   ) -> AsyncIterator[tuple[list[Memory], list[list[float]]]]:
        """Every memory (of one agent, or all) with its vector, by (agent_id, id), in batches."""
        after: tuple[str, str] = ("", "")
        while True:
            rows = await self._fetch(
                f"SELECT {_COLUMNS}, embedding FROM agentmem_memories"
                " WHERE (%s::text IS NULL OR agent_id = %s) AND (agent_id, id) > (%s, %s)"
                " ORDER BY agent_id, id LIMIT %s", [agent_id, agent_id, *after, batch_size])
            if not rows:
                return
            yield [_memory(r) for r in rows], [_floats(r["embedding"]) for r in rows]
            after = (rows[-1]["agent_id"], rows[-1]["id"])

    async def agents(self) -> list[str]:
        """Every agent holding memories or conversation turns, sorted."""
        rows = await self._fetch("SELECT agent_id FROM agentmem_memories UNION"
                                 " SELECT agent_id FROM agentmem_turns ORDER BY 1")
        return [r["agent_id"] for r in rows]

    async def expired_counts(self, agent_id: str | None = None) -> ExpiredCounts:
        """How many memories have expired, per agent and type (of one agent, or all)."""
        rows = await self._fetch("SELECT agent_id, memory_type, count(*) AS n"
                                 " FROM agentmem_memories WHERE expires_at <= now()"
                                 " AND (%s::text IS NULL OR agent_id = %s) GROUP BY 1, 2",
                                 [agent_id, agent_id])
        return {(r["agent_id"], MemoryType(r["memory_type"])): int(r["n"]) for r in rows}

    async def delete_expired(self, agent_id: str | None = None, *, archive: bool = False,
                             batch_size: int = 1000, pending: bool = False) -> ExpiredCounts:
        """Delete (or archive) what had expired when the call started, ``batch_size`` rows
        per statement; ``pending`` queues the ids so a derived index drops them too."""
        if batch_size < 1:
            raise InvalidInput(f"batch_size must be positive, got {batch_size}")
        statement = sql.SQL(_CLEANUP).format(
            archive=sql.SQL(_ARCHIVE if archive else ""),
            queue=sql.SQL(", queued AS ({})").format(
                sql.SQL(_ENQUEUE).format(sql.Identifier("gone"))) if pending else sql.SQL(""))
        async with self._conn() as conn:
            cutoff = (await (await conn.execute("SELECT now() AS t")).fetchone())["t"]  # type: ignore[index]
        total: ExpiredCounts = {}
        while True:
            rows = await self._fetch(statement, {"cutoff": cutoff, "agent": agent_id,
                                                 "batch": batch_size})
            for r in rows:
                key = (r["agent_id"], MemoryType(r["memory_type"]))
                total[key] = total.get(key, 0) + int(r["n"])
            if sum(int(r["n"]) for r in rows) < batch_size:
                return total

    async def archived(self, agent_id: str) -> list[Memory]:
        """The memories cleanup archived for an agent, oldest first."""
        rows = await self._fetch(f"SELECT {_COLUMNS} FROM agentmem_archive WHERE agent_id = %s"
                                 " ORDER BY created_at, id, archived_at", [agent_id])
        return [_memory(r) for r in rows]

    async def distinct(self, agent_id: str, key: str, *,
                       memory_types: Sequence[MemoryType]) -> list[object]:
        """Distinct JSON values of ``metadata[key]`` among an agent's memories."""
        rows = await self._fetch(sql.SQL(
            "SELECT DISTINCT metadata -> %s AS v FROM agentmem_memories"
            " WHERE agent_id = %s AND memory_type = ANY(%s) AND metadata ? %s AND {}").format(
            _UNEXPIRED), [key, agent_id, [t.value for t in memory_types], key])
        return [r["v"] for r in rows]

    # -- the index queue (hybrid mode) --

    async def pending_count(self, agent_id: str | None = None) -> int:
        """How many memories the index lacks or holds stale (all agents when None)."""
        rows = await self._fetch("SELECT count(*) AS n FROM agentmem_index_queue"
                                 " WHERE %s::text IS NULL OR agent_id = %s", [agent_id, agent_id])
        return int(rows[0]["n"])

    async def mark_pending(self, agent_id: str | None = None) -> int:
        """Queue every memory (of one agent, or all) for the index."""
        return await self._execute(sql.SQL(
            "WITH every AS (SELECT agent_id, id FROM agentmem_memories"
            " WHERE %s::text IS NULL OR agent_id = %s){}").format(
            sql.SQL(_ENQUEUE).format(sql.Identifier("every"))), [agent_id, agent_id])

    async def drain_pending(self, write: IndexWriter, remove: IndexRemover, *,
                            agent_id: str | None = None, batch_size: int = 1000,
                            wait: bool = False) -> int:
        """Copy queued rows to the index (``write``), drop deleted ones (``remove``).

        No transaction is open and no row is locked while the index is called: a batch
        is read, written to the index, and then only the entries not queued again
        meanwhile (same seq) leave the queue, in one short statement; a row updated while
        it was being copied stays queued and is copied again. One drainer per agent at a
        time: a session advisory lock on the drainer's connection, which writers never
        take and other drainers only try (or, with ``wait``, wait for: an explicit flush
        must not return while another drainer is half-way). If a callback raises, the rest
        stay queued.
        """
        agents = [agent_id] if agent_id is not None else [
            r["agent_id"] for r in await self._fetch(
                "SELECT DISTINCT agent_id FROM agentmem_index_queue ORDER BY 1")]
        done = 0
        for agent in agents:
            async with self._conn() as conn:
                cur = await conn.execute(_WAIT_DRAIN if wait else _TRY_DRAIN, [_DRAIN_LOCK, agent])
                if not (await cur.fetchone() or {}).get("got"):
                    continue  # another drainer has this agent
                try:
                    done += await self._drain_agent(conn, agent, write, remove, batch_size)
                finally:
                    if not conn.closed:
                        await conn.execute("SELECT pg_advisory_unlock(%s, hashtext(%s))",
                                           [_DRAIN_LOCK, agent])
        return done

    async def _drain_agent(self, conn: psycopg.AsyncConnection[Any], agent: str,
                           write: IndexWriter, remove: IndexRemover, batch_size: int) -> int:
        """Drain one agent's queue on ``conn`` (autocommit: each statement its own)."""
        done = 0
        while True:
            cur = await conn.execute(
                f"SELECT q.id AS qid, q.seq, {_M_COLUMNS}, m.embedding"
                " FROM agentmem_index_queue q LEFT JOIN agentmem_memories m"
                " ON m.agent_id = q.agent_id AND m.id = q.id WHERE q.agent_id = %s"
                " ORDER BY q.seq LIMIT %s", [agent, batch_size])
            rows = await cur.fetchall()
            if not rows:
                return done
            present = [r for r in rows if r["id"] is not None]
            gone = [r["qid"] for r in rows if r["id"] is None]
            if present:
                await write([_memory(r) for r in present],
                            [_floats(r["embedding"]) for r in present])
            if gone:
                await remove(agent, gone)
            copied = sorted((r["qid"], r["seq"]) for r in rows)
            await conn.execute(
                "DELETE FROM agentmem_index_queue q USING (SELECT q2.agent_id, q2.id"
                " FROM agentmem_index_queue q2 JOIN unnest(%s::text[], %s::bigint[])"
                " AS done(id, seq) ON q2.id = done.id AND q2.seq = done.seq"
                " WHERE q2.agent_id = %s ORDER BY q2.id FOR UPDATE OF q2) l"
                " WHERE q.agent_id = l.agent_id AND q.id = l.id",
                [[i for i, _ in copied], [n for _, n in copied], agent])
            done += len(rows)
            if len(rows) < batch_size:
                return done

    # -- ANN indexes for large agents --

    async def agent_sizes(self, min_rows: int = 0) -> dict[str, int]:
        """Memories per agent, for agents holding at least ``min_rows``."""
        rows = await self._fetch("SELECT agent_id, count(*) AS n FROM agentmem_memories"
                                 " GROUP BY agent_id HAVING count(*) >= %s ORDER BY 2 DESC",
                                 [min_rows])
        return {r["agent_id"]: int(r["n"]) for r in rows}

    async def has_ann(self, agent_id: str) -> bool:
        """Whether recall for this agent can use an ANN index of its own."""
        return await self._ann_for(agent_id) is not None

    async def ann_indexes(self) -> dict[str, AnnIndex]:
        """The per-agent ANN indexes that exist, read now."""
        self._ann_read_at = float("-inf")
        await self._ann_for("")
        return dict(self._ann)

    async def build_ann(self, agent_id: str, *, m: int = 16, ef_construction: int = 64,
                        ef_search: int = 40) -> AnnIndex:
        """(Re)build the partial HNSW index of one agent and record it."""
        for name, value in (("m", m), ("ef_construction", ef_construction),
                            ("ef_search", ef_search)):
            if isinstance(value, bool) or not isinstance(value, int) or not 2 <= value <= 1000:
                raise InvalidInput(f"{name} must be an int in 2..1000, got {value!r}")
        name = f"agentmem_ann_{hashlib.sha256(agent_id.encode()).hexdigest()[:24]}"
        async with self._conn() as conn:
            await conn.execute(sql.SQL("DROP INDEX IF EXISTS {}").format(sql.Identifier(name)))
            await conn.execute(sql.SQL(
                "CREATE INDEX {} ON agentmem_memories USING hnsw (embedding vector_cosine_ops)"
                " WITH (m = {}, ef_construction = {}) WHERE agent_id = {}").format(
                sql.Identifier(name), sql.Literal(m), sql.Literal(ef_construction),
                sql.Literal(agent_id)))
            cur = await conn.execute(
                "INSERT INTO agentmem_ann_indexes AS a (agent_id, index_name, m, ef_construction,"
                " ef_search, rows_at_build) SELECT %s, %s, %s, %s, %s, count(*) FROM"
                " agentmem_memories WHERE agent_id = %s ON CONFLICT (agent_id) DO UPDATE SET"
                " m = EXCLUDED.m, ef_construction = EXCLUDED.ef_construction, ef_search ="
                " EXCLUDED.ef_search, rows_at_build = EXCLUDED.rows_at_build, built_at = now()"
                " RETURNING agent_id, index_name, m, ef_construction, ef_search, rows_at_build",
                [agent_id, name, m, ef_construction, ef_search, agent_id])
            row = await cur.fetchone()
            # The planner weighs the new index against the B-tree by the agent's row count.
            await conn.execute("ANALYZE agentmem_memories")
        self._ann_read_at = float("-inf")
        return AnnIndex(**row)  # type: ignore[arg-type]

    async def set_ef_search(self, agent_id: str, ef_search: int) -> None:
        """Record the ``hnsw.ef_search`` recall uses for an agent's ANN index."""
        await self._execute("UPDATE agentmem_ann_indexes SET ef_search = %s WHERE agent_id = %s",
                            [ef_search, agent_id])
        self._ann_read_at = float("-inf")

    async def drop_ann(self, agent_id: str) -> bool:
        """Drop an agent's ANN index; False if it had none."""
        async with self._transaction() as conn:
            cur = await conn.execute("DELETE FROM agentmem_ann_indexes WHERE agent_id = %s"
                                     " RETURNING index_name", [agent_id])
            row = await cur.fetchone()
            if row is not None:
                await conn.execute(sql.SQL("DROP INDEX IF EXISTS {}").format(
                    sql.Identifier(row["index_name"])))
        self._ann_read_at = float("-inf")
        return row is not None

    async def table_stats(self) -> dict[str, Any]:
        """Size and upkeep of the memories table and its indexes, for ``agentmem optimize``."""
        rows = await self._fetch(
            "SELECT n_live_tup AS live, n_dead_tup AS dead, last_analyze, last_autoanalyze,"
            " pg_total_relation_size('agentmem_memories') AS bytes FROM pg_stat_user_tables"
            " WHERE relname = 'agentmem_memories'")
        indexes = await self._fetch(
            "SELECT indexrelname AS name, pg_relation_size(indexrelid) AS bytes, idx_scan"
            " AS scans FROM pg_stat_user_indexes WHERE relname = 'agentmem_memories'"
            " ORDER BY indexrelname")
        return {**(rows[0] if rows else {}), "indexes": indexes}

    async def sizes(self, agent_id: str | None = None) -> tuple[StoreSize, ...]:
        """Rows of memories and turns (one agent's, or all), and the bytes every agentmem
        table and its indexes take on disk (``pg_total_relation_size``, ``pg_indexes_size``)."""
        rows = await self._fetch(
            "SELECT (SELECT count(*) FROM agentmem_memories"
            "  WHERE %(agent)s::text IS NULL OR agent_id = %(agent)s) AS memories,"
            " (SELECT count(*) FROM agentmem_turns"
            "  WHERE %(agent)s::text IS NULL OR agent_id = %(agent)s) AS turns,"
            " (SELECT coalesce(sum(pg_total_relation_size(r)), 0) FROM unnest(%(tables)s::text[])"
            "  AS t(name), LATERAL to_regclass(t.name) AS r WHERE r IS NOT NULL) AS table_bytes,"
            " (SELECT coalesce(sum(pg_indexes_size(r)), 0) FROM unnest(%(tables)s::text[])"
            "  AS t(name), LATERAL to_regclass(t.name) AS r WHERE r IS NOT NULL) AS index_bytes",
            {"agent": agent_id, "tables": list(_SIZED_TABLES)})
        r = rows[0]
        return (StoreSize("postgres", self.location, int(r["memories"]), int(r["turns"]),
                          int(r["table_bytes"]), int(r["index_bytes"])),)

    async def vacuum_analyze(self) -> None:
        """``VACUUM ANALYZE`` the memories table (needs an autocommit connection: ours are)."""
        await self._execute("VACUUM ANALYZE agentmem_memories")

    # -- conversation history --

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

        async def run(attempt: Attempt) -> None:
            async with self._conn() as conn, conn.transaction(), conn.cursor() as cur:
                if replace is not None:
                    await cur.execute("DELETE FROM agentmem_turns WHERE agent_id = %s"
                                      " AND session_id = %s", list(replace))
                await cur.executemany(
                    "INSERT INTO agentmem_turns (agent_id, session_id, role, content,"
                    " extra, created_at) VALUES (%s, %s, %s, %s, %s, %s)", rows)
                attempt.committing = True  # from here a lost answer may hide a commit

        # Appending turns is not idempotent: retried only when it certainly did not commit.
        await self._retry(run, idempotent=replace is not None)

    async def sessions(self, agent_id: str) -> list[str]:
        rows = await self._fetch("SELECT session_id FROM agentmem_turns WHERE agent_id = %s"
                                 " GROUP BY session_id ORDER BY min(seq)", [agent_id])
        return [r["session_id"] for r in rows]

    async def history(self, agent_id: str, session_id: str,
                      limit: int | None = None) -> list[ChatTurn]:
        rows = await self._fetch(
            "SELECT * FROM (SELECT agent_id, session_id, role, content, extra, created_at,"
            " seq FROM agentmem_turns WHERE agent_id = %s AND session_id = %s"
            " ORDER BY seq DESC LIMIT %s) t ORDER BY seq", [agent_id, session_id, limit])
        return [ChatTurn(**{k: v for k, v in r.items() if k != "seq"}) for r in rows]

    async def clear_history(self, agent_id: str, session_id: str) -> int:
        return await self._execute("DELETE FROM agentmem_turns WHERE agent_id = %s"
                                   " AND session_id = %s", [agent_id, session_id])

    async def history_stats(self, agent_id: str) -> tuple[int, int]:
        rows = await self._fetch("SELECT count(*) AS n, count(DISTINCT session_id) AS s"
                                 " FROM agentmem_turns WHERE agent_id = %s", [agent_id])
        return int(rows[0]["n"]), int(rows[0]["s"])


# The query vector always goes binary (%b): pgvector's text form of a 384-d vector takes
# ~0.45 ms to build, the binary one ~3 µs.
_RECALL = {
    "exact": "SELECT {cols}, embedding <=> %b AS distance FROM agentmem_memories"
             " WHERE {scope} ORDER BY distance, id LIMIT %s",
    "ann": "SELECT {cols}, embedding <=> %b AS distance FROM agentmem_memories"
           " WHERE {scope} ORDER BY embedding <=> %b LIMIT %s",
    "fenced": "WITH d AS MATERIALIZED (SELECT id, embedding <=> %b AS distance"
              " FROM agentmem_memories WHERE {scope})"
              " SELECT {mcols}, d.distance FROM (SELECT * FROM d ORDER BY distance, id"
              " LIMIT %s) d JOIN agentmem_memories m ON m.agent_id = %s AND m.id = d.id"
              " ORDER BY d.distance, d.id",
}


_SCOPE = "agent_id = %s AND memory_type = ANY(%s) AND {alive} AND ({cond})"
# BM25 (Lucene's idf and tf forms), squashed by s / (s + 1): the corpus is the scoped rows
# with any term; the matching ones come from the GIN index, their term frequencies are the
# position counts of the tsvector.
_BM25 = (
    "WITH stats AS (SELECT count(*)::float8 AS n, avg(lexeme_count)::float8 AS avgdl"
    " FROM agentmem_memories WHERE {scope} AND lexeme_count > 0),"
    " matched AS (SELECT id, lexeme_count, u.lexeme, cardinality(u.positions) AS tf"
    " FROM agentmem_memories, unnest(lexemes) u WHERE {scope} AND lexemes @@ %s::tsquery"
    " AND u.lexeme = ANY(%s)),"
    " df AS (SELECT lexeme, count(*)::float8 AS df FROM matched GROUP BY lexeme),"
    " ranked AS (SELECT id, sum(ln(1 + (st.n - df.df + 0.5) / (df.df + 0.5)) * tf"
    " / (tf + {k1} * (1 - {b} + {b} * lexeme_count / st.avgdl))) AS bm25"
    " FROM matched JOIN df USING (lexeme) CROSS JOIN stats st GROUP BY id"
    " ORDER BY bm25 DESC, id LIMIT %s)"
    " SELECT {mcols}, r.bm25 / (r.bm25 + 1) AS score FROM ranked r"
    " JOIN agentmem_memories m ON m.agent_id = %s AND m.id = r.id ORDER BY r.bm25 DESC, r.id"
)


async def _backfill_lexemes(conn: psycopg.AsyncConnection[Any]) -> None:
    """Fill ``lexemes`` and ``lexeme_count`` for every existing row (migration 3)."""
    async with conn.cursor(row_factory=tuple_row) as cur:
        await cur.execute("SELECT agent_id, id, content FROM agentmem_memories")
        rows = await cur.fetchall()
    updates = []
    for agent_id, id_, content in rows:
        terms = analyze(content)
        updates.append((tsvector_text(terms), len(terms), agent_id, id_))
    async with conn.cursor() as update:
        await update.executemany("UPDATE agentmem_memories SET lexemes = %s::tsvector,"
                                 " lexeme_count = %s WHERE agent_id = %s AND id = %s", updates)


# schema version -> what recomputes its derived columns in Python after its statements
_BACKFILLS: dict[int, Callable[[psycopg.AsyncConnection[Any]], Awaitable[None]]] = {
    3: _backfill_lexemes}


def _recall_sql(kind: str, with_vectors: bool, cond: sql.Composable) -> sql.Composed:
    """One of the recall statements: exact, ann (the agent's HNSW index) or fenced exact."""
    vectors = ", embedding" if with_vectors else ""
    return sql.SQL(_RECALL[kind]).format(
        cols=sql.SQL(_COLUMNS + vectors), mcols=sql.SQL(_M_COLUMNS + vectors.replace(" ", " m.")),
        scope=sql.SQL("agent_id = %s AND memory_type = ANY(%s) AND {} AND ({})").format(
            _UNEXPIRED, cond))


@functools.lru_cache(maxsize=8)
def _recall_text(kind: str, with_vectors: bool) -> str:
    """The unfiltered statements, rendered once: composing SQL costs more than planning it."""
    return _recall_sql(kind, with_vectors, sql.SQL("TRUE")).as_string(None)


def _compare(recorded: StoreInfo, info: StoreInfo, where: str) -> None:
    if recorded != info:
        raise DimensionMismatch(
            f"the store at {where} was built with model {recorded.model_id!r} "
            f"(dimension {recorded.dimension}) but this memory uses {info.model_id!r} "
            f"(dimension {info.dimension}); open it with the original embedder "
            f"(AGENTMEM_EMBEDDINGS={spec_of(recorded.model_id, recorded.dimension)}), or use "
            "a new database and re-import"
        )


def _floats(v: Any) -> list[float]:
    """A vector column as a list: pgvector < 0.4 returns numpy arrays, later a Vector."""
    out: list[float] = v.tolist() if hasattr(v, "tolist") else v.to_list()
    return out


def _memory(r: dict[str, Any]) -> Memory:
    return Memory.from_store(
        id=r["id"], content=r["content"], memory_type=r["memory_type"],
        agent_id=r["agent_id"], user_id=r["user_id"], session_id=r["session_id"],
        importance=r["importance"], metadata=r["metadata"], source_ids=list(r["source_ids"]),
        created_at=r["created_at"], updated_at=r["updated_at"], expires_at=r["expires_at"],
        tier=r["tier"],
    )




def _hits(rows: list[dict[str, Any]], with_vectors: bool) -> list[MemoryHit]:
    return [MemoryHit.model_construct(memory=_memory(r), score=1.0 - float(r["distance"]),
                                      vector=_floats(r["embedding"]) if with_vectors else None)
            for r in rows]
