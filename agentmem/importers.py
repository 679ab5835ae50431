"""Copy an existing LangChain vector store into an agent's memories.

Sources, read directly (no langchain package is imported):

- **langchain-postgres ``PGVector``** (layout ``pgvector``): the tables
  ``langchain_pg_collection`` (``uuid``, ``name``, ``cmetadata``) and
  ``langchain_pg_embedding`` (``id``, ``collection_id``, ``embedding``, ``document``,
  ``cmetadata``), found through the connection's ``search_path``; one collection by name.
- **langchain-postgres ``PGVectorStore``** (layout ``pgvectorstore``): one user-named table,
  ``[schema.]table`` (schema ``public`` when not given, as in ``PGVectorStore``), with an id
  column (``langchain_id``), a text column (``content``), a ``vector`` column
  (``embedding``), an optional JSON column (``langchain_metadata``) and any number of
  custom metadata columns. Metadata is rebuilt as ``PGVectorStore`` does: the JSON column,
  then every custom column on top (``None`` where the column is NULL). Custom columns are
  all the others except ``tsvector`` (hybrid search) and vector columns.
- **Chroma** (a ``langchain-chroma`` collection): an ``http(s)://`` server or a directory,
  read page by page with ``get(limit, offset)`` on a collection opened without an
  embedding function, so Chroma never embeds anything.

Layout detection (``layout="auto"``) for langchain-postgres: ``collection`` is looked up as
a ``PGVector`` collection name (when the two tables exist) and as a ``PGVectorStore``
table (``schema.table`` or ``public.<collection>``). Exactly one match is used; both is
an :class:`InvalidInput` asking for an explicit layout; a table that exists but lacks the
id/content/vector columns is an :class:`InvalidInput` that lists its columns; neither is
:class:`NotFound`.

Every identifier is validated and quoted with :class:`psycopg.sql.Identifier`, every
value is a bind parameter. PostgreSQL is read in one ``REPEATABLE READ READ ONLY``
transaction through a server-side cursor, so the count and the rows come from the same
snapshot and only one batch is in memory at a time.

Vectors are copied only when the caller asserts the source was embedded with the same
model as agentmem's embedder (``same_model``) *and* the source dimension equals the
embedder's; otherwise (and for any row without a usable vector) the text is re-embedded.
These stores record no reliable model id, hence the explicit assertion.

Rows that cannot become memories (no or blank text, an id longer than 256 characters,
metadata that is not JSON-safe) fail the import with :class:`InvalidInput` naming the
row, unless ``skip_invalid``: then they are skipped, counted and listed (first 10) in the
report. Batches are written atomically with :meth:`HybridMemory.remember_many` under the
source ids, so an interrupted or repeated import can simply be run again: it upserts
the same memories and never duplicates them.

At the end the report compares the source count with what was read and with what
arrived (each batch's ids are read back from the target): :attr:`ImportReport.ok`.
"""

from __future__ import annotations

import datetime as _dt
import decimal
import ipaddress
import math
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import asdict, dataclass, field
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from pydantic import ValidationError

from .errors import BackendError, ConfigError, InvalidInput, NotFound
from .models import Memory, MemoryType, as_agent_id, as_memory_type
from .settings import redact_url

if TYPE_CHECKING:
    import psycopg

    from .memory import HybridMemory

__all__ = [
    "ImportReport",
    "Layout",
    "PGVectorStoreColumns",
    "SourceKind",
    "SourceRecord",
    "import_chroma",
    "import_langchain_postgres",
    "import_records",
    "open_chroma",
    "open_langchain_postgres",
]

Progress = Callable[[int, int], None]  # (rows done, rows in the source)

_MAX_EXAMPLES = 10
_MAX_BATCH = 10_000
_PG_NAME_BYTES = 63  # NAMEDATALEN - 1: PostgreSQL truncates longer identifiers
_V1_COLLECTIONS = "langchain_pg_collection"
_V1_EMBEDDINGS = "langchain_pg_embedding"
_VECTOR_TYPES = ("vector", "halfvec", "sparsevec", "tsvector")


class SourceKind(str, Enum):
    """Where an import reads from."""

    BACKUP = "backup"  # a file written by ``agentmem export`` (:mod:`agentmem.ops.backup`)
    LANGCHAIN_POSTGRES = "langchain-postgres"
    CHROMA = "chroma"


class Layout(str, Enum):
    """Which langchain-postgres store a collection name refers to."""

    AUTO = "auto"
    PGVECTOR = "pgvector"  # PGVector: langchain_pg_collection + langchain_pg_embedding
    PGVECTORSTORE = "pgvectorstore"  # PGVectorStore (v2): one table per store


@dataclass(frozen=True)
class PGVectorStoreColumns:
    """Column names of a ``PGVectorStore`` table (the langchain-postgres defaults)."""

    id: str = "langchain_id"
    content: str = "content"
    embedding: str = "embedding"
    metadata_json: str = "langchain_metadata"


@dataclass(frozen=True)
class SourceRecord:
    """One document of a source store."""

    id: str
    text: str | None
    metadata: Any  # a dict for well-formed rows; anything else makes the row invalid
    vector: list[float] | None = None


class Source(Protocol):
    """A readable store: its size, its vector dimension and its records in batches."""

    @property
    def description(self) -> str: ...

    @property
    def layout(self) -> str: ...

    def count(self) -> int: ...

    def dimension(self) -> int | None:
        """The length of the first stored vector; None when no record has one."""
        ...

    def batches(self, size: int, *, vectors: bool) -> Iterator[list[SourceRecord]]: ...


@dataclass
class ImportReport:
    """What an import did; :attr:`ok` is the count check."""

    source: str
    layout: str
    agent_id: str
    memory_type: str
    source_count: int = 0
    read: int = 0
    imported: int = 0
    arrived: int = 0
    skipped: int = 0
    skipped_examples: list[str] = field(default_factory=list)
    vectors: str = "re-embedded"  # or "copied"
    vectors_reason: str = ""
    vectors_copied: int = 0
    vectors_embedded: int = 0
    source_dimension: int | None = None
    target_model: str = ""
    target_dimension: int = 0
    batches: int = 0
    seconds: float = 0.0

    @property
    def problem(self) -> str | None:
        """Why the counts disagree, or None when everything in the source arrived."""
        if self.read != self.source_count:
            return (f"the source held {self.source_count} records when the import began but "
                    f"{self.read} were read: it changed meanwhile; run the import again")
        if self.arrived != self.imported:
            return (f"{self.imported} memories were written but only {self.arrived} can be read "
                    "back from the agentmem store; run the import again")
        if self.imported + self.skipped != self.source_count:
            return (f"the source has {self.source_count} records but {self.imported} were "
                    f"imported and {self.skipped} skipped")
        return None

    @property
    def ok(self) -> bool:
        return self.problem is None

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "ok": self.ok, "problem": self.problem}


# -- helpers --------------------------------------------------------------------------------


def _pg_identifier(name: str, what: str) -> str:
    if not isinstance(name, str) or not name or "\x00" in name:
        raise InvalidInput(f"{what} must be a non-empty name without NUL bytes, got {name!r}")
    if len(name.encode()) > _PG_NAME_BYTES:
        raise InvalidInput(f"{what} {name!r} is longer than PostgreSQL's {_PG_NAME_BYTES} bytes")
    return name


def _jsonable(value: Any, where: str) -> Any:
    """A column value as JSON: numbers, text, bools, None, lists and dicts of those."""
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, decimal.Decimal):  # numeric: 2020 stays an int, 1.50 becomes 1.5
        exponent = value.as_tuple().exponent
        return int(value) if isinstance(exponent, int) and exponent >= 0 else float(value)
    if isinstance(value, (_dt.datetime, _dt.date, _dt.time)):
        return value.isoformat()
    if isinstance(value, (uuid.UUID, ipaddress.IPv4Address, ipaddress.IPv6Address,
                          ipaddress.IPv4Network, ipaddress.IPv6Network,
                          ipaddress.IPv4Interface, ipaddress.IPv6Interface, _dt.timedelta)):
        return str(value)
    if isinstance(value, (list, tuple)):
        return [_jsonable(v, f"{where}[{i}]") for i, v in enumerate(value)]
    if isinstance(value, dict):
        return {str(k): _jsonable(v, f"{where}.{k}") for k, v in value.items()}
    raise _Invalid(f"{where} is of type {type(value).__name__}, which has no JSON form")


class _Invalid(Exception):
    """A record that cannot become a memory (internal: carries the reason)."""


def _floats(raw: Any) -> list[float] | None:
    if raw is None:
        return None
    out = [float(x) for x in raw]
    return out if out and all(math.isfinite(x) for x in out) else None


# -- langchain-postgres -----------------------------------------------------------------------


def _pg_url(url: str) -> str:
    """A libpq URL: SQLAlchemy's ``postgresql+psycopg://`` and ``postgres://`` accepted."""
    scheme, sep, rest = url.partition("://")
    base = scheme.split("+", 1)[0].lower()
    if not sep or base not in ("postgresql", "postgres"):
        raise InvalidInput(f"the langchain-postgres source must be a postgresql:// URL "
                           f"(postgresql+psycopg:// is accepted too), got {redact_url(url)!r}")
    return f"postgresql://{rest}"


@dataclass
class _PgPlan:
    layout: Layout
    count: Any  # sql.Composable
    dimension: Any
    rows: Callable[[bool], Any]
    params: list[Any]
    description: str
    custom: list[str] = field(default_factory=list)


class PostgresSource:
    """A langchain-postgres store, read in one snapshot; use :func:`open_langchain_postgres`."""

    def __init__(self, conn: psycopg.Connection[Any], url: str, plan: _PgPlan) -> None:
        self._conn = conn
        self._url = url
        self._plan = plan

    @property
    def description(self) -> str:
        return self._plan.description

    @property
    def layout(self) -> str:
        return self._plan.layout.value

    def count(self) -> int:
        with _pg_errors(self._url):
            row = self._conn.execute(self._plan.count, self._plan.params).fetchone()
        return int(row[0]) if row else 0

    def dimension(self) -> int | None:
        with _pg_errors(self._url):
            row = self._conn.execute(self._plan.dimension, self._plan.params).fetchone()
        return int(row[0]) if row and row[0] is not None else None

    def batches(self, size: int, *, vectors: bool) -> Iterator[list[SourceRecord]]:
        custom = self._plan.custom
        with _pg_errors(self._url), self._conn.cursor(name="agentmem_import") as cur:
            cur.itersize = size
            cur.execute(self._plan.rows(vectors), self._plan.params)
            while True:
                with _pg_errors(self._url):
                    rows = cur.fetchmany(size)
                if not rows:
                    return
                batch = []
                for rid, text, vec, meta, *extra in rows:
                    if meta is None:
                        meta = {}
                    if custom and isinstance(meta, dict):
                        # as PGVectorStore reads it: the JSON column, then each custom column
                        meta = {**meta, **dict(zip(custom, extra))}
                    batch.append(SourceRecord(str(rid), text, meta,
                                              _floats(vec) if vectors else None))
                yield batch


def _pg_errors(url: str) -> AbstractContextManager[None]:
    from .backends._pg_errors import postgres_errors

    return postgres_errors(url, role="the source PostgreSQL", fix="")


def _v1_plan(conn: psycopg.Connection[Any], collection: str, where: str) -> _PgPlan | None:
    """The PGVector plan for ``collection``, or None when there is no such collection."""
    from psycopg import sql

    found = conn.execute("SELECT to_regclass(%s) IS NOT NULL AND to_regclass(%s) IS NOT NULL",
                         [_V1_COLLECTIONS, _V1_EMBEDDINGS]).fetchone()
    if not found or not found[0]:
        return None
    row = conn.execute(sql.SQL("SELECT uuid FROM {} WHERE name = %s").format(
        sql.Identifier(_V1_COLLECTIONS)), [collection]).fetchone()
    if row is None:
        return None
    table = sql.Identifier(_V1_EMBEDDINGS)
    scope = sql.SQL("FROM {} WHERE collection_id = %s").format(table)

    def rows(vectors: bool) -> sql.Composable:
        vec = sql.SQL("embedding::real[]" if vectors else "NULL::real[]")
        return sql.SQL("SELECT id, document, {}, cmetadata {}").format(vec, scope)

    return _PgPlan(
        layout=Layout.PGVECTOR,
        count=sql.SQL("SELECT count(*) {}").format(scope),
        dimension=sql.SQL("SELECT vector_dims(embedding) {} AND embedding IS NOT NULL LIMIT 1"
                          ).format(scope),
        rows=rows, params=[row[0]],
        description=f"langchain-postgres PGVector collection {collection!r} at {where}")


def _table_columns(conn: psycopg.Connection[Any], schema: str, table: str
                   ) -> list[tuple[str, str]] | None:
    """(name, type) of a table's columns in order, or None if there is no such relation."""
    rel = conn.execute(
        "SELECT c.oid FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
        " WHERE n.nspname = %s AND c.relname = %s AND c.relkind IN ('r', 'p', 'v', 'm', 'f')",
        [schema, table]).fetchone()
    if rel is None:
        return None
    cols = conn.execute(
        "SELECT a.attname, t.typname FROM pg_attribute a JOIN pg_type t ON t.oid = a.atttypid"
        " WHERE a.attrelid = %s AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum",
        [rel[0]]).fetchall()
    return [(str(n), str(t)) for n, t in cols]


def _v2_plan(columns: list[tuple[str, str]], schema: str, table: str,
             names: PGVectorStoreColumns, where: str) -> _PgPlan:
    from psycopg import sql

    types = dict(columns)
    missing = [f"{what} column {name!r}" for what, name in
               (("id", names.id), ("content", names.content), ("embedding", names.embedding))
               if name not in types]
    if not missing and types[names.embedding] != "vector":
        missing.append(f"embedding column {names.embedding!r} of type vector "
                       f"(it is {types[names.embedding]})")
    if missing:
        listed = ", ".join(f"{n} {t}" for n, t in columns) or "none"
        raise InvalidInput(
            f"table {schema}.{table} at {where} is not a langchain-postgres PGVectorStore table: "
            f"it has no {' and no '.join(missing)} (its columns: {listed}); name the columns "
            "with --id-column / --content-column / --embedding-column")
    json_col = names.metadata_json if names.metadata_json in types else None
    known = {names.id, names.content, names.embedding, json_col}
    custom = [n for n, t in columns if n not in known and t not in _VECTOR_TYPES]
    rel = sql.Identifier(schema, table)
    emb = sql.Identifier(names.embedding)
    meta = sql.Identifier(json_col) if json_col else sql.SQL("NULL::json")
    extra = sql.SQL("").join(sql.SQL(", {}").format(sql.Identifier(c)) for c in custom)

    def rows(vectors: bool) -> sql.Composable:
        vec = sql.SQL("{}::real[]").format(emb) if vectors else sql.SQL("NULL::real[]")
        return sql.SQL("SELECT {}::text, {}, {}, {}{} FROM {}").format(
            sql.Identifier(names.id), sql.Identifier(names.content), vec, meta, extra, rel)

    return _PgPlan(
        layout=Layout.PGVECTORSTORE,
        count=sql.SQL("SELECT count(*) FROM {}").format(rel),
        dimension=sql.SQL("SELECT vector_dims({0}) FROM {1} WHERE {0} IS NOT NULL LIMIT 1"
                          ).format(emb, rel),
        rows=rows, params=[], custom=custom,
        description=f"langchain-postgres PGVectorStore table {schema}.{table} at {where}")


def _table_name(collection: str) -> tuple[str, str]:
    """``schema.table`` (split at the first dot) or ``table`` in schema ``public``."""
    schema, dot, table = collection.partition(".")
    if not dot:
        schema, table = "public", collection
    return _pg_identifier(schema, "schema name"), _pg_identifier(table, "table name")


def _plan(conn: psycopg.Connection[Any], collection: str, layout: Layout,
          names: PGVectorStoreColumns, where: str) -> _PgPlan:
    if not isinstance(collection, str) or not collection.strip() or "\x00" in collection:
        raise InvalidInput(f"the collection must be a non-empty name, got {collection!r}")
    v1 = _v1_plan(conn, collection, where) if layout is not Layout.PGVECTORSTORE else None
    if layout is Layout.PGVECTOR:
        if v1 is None:
            raise NotFound(f"no langchain-postgres PGVector collection named {collection!r} at "
                           f"{where} (looked in {_V1_COLLECTIONS})")
        return v1
    for what, name in asdict(names).items():
        _pg_identifier(name, f"{what} column")
    try:
        schema, table = _table_name(collection)
    except InvalidInput:
        if v1 is not None:  # a collection name that cannot be a table name
            return v1
        raise
    columns = _table_columns(conn, schema, table)
    if columns is None:
        if v1 is not None:
            return v1
        if layout is Layout.PGVECTORSTORE:
            raise NotFound(f"no PGVectorStore table {schema}.{table} at {where}")
        raise NotFound(
            f"nothing named {collection!r} at {where}: no PGVector collection of that name "
            f"(in {_V1_COLLECTIONS}) and no PGVectorStore table {schema}.{table}")
    if v1 is not None:
        try:
            _v2_plan(columns, schema, table, names, where)
        except InvalidInput:
            return v1  # an unrelated table that shares the name
        raise InvalidInput(
            f"{collection!r} at {where} is both a PGVector collection and a PGVectorStore "
            "table: choose one with --layout pgvector or --layout pgvectorstore")
    return _v2_plan(columns, schema, table, names, where)


@contextmanager
def open_langchain_postgres(url: str, collection: str, *, layout: Layout | str = Layout.AUTO,
                            columns: PGVectorStoreColumns | None = None,
                            connect_timeout: int = 10) -> Iterator[PostgresSource]:
    """A langchain-postgres store (``PGVector`` collection or ``PGVectorStore`` table)."""
    import psycopg

    try:
        layout = Layout(layout)
    except ValueError as exc:
        raise InvalidInput(f"unknown layout {layout!r}: use auto, pgvector or pgvectorstore"
                           ) from exc
    conninfo = _pg_url(url)
    where = redact_url(url)
    try:
        with _pg_errors(url):
            conn = psycopg.connect(conninfo, connect_timeout=connect_timeout)
    except BackendError as exc:  # anything but unreachable is in the URL itself
        raise InvalidInput(f"invalid source PostgreSQL URL {where}: {exc}") from exc.__cause__
    try:
        conn.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
        conn.read_only = True
        with _pg_errors(url):
            plan = _plan(conn, collection, layout, columns or PGVectorStoreColumns(), where)
        yield PostgresSource(conn, url, plan)
    finally:
        conn.close()  # the transaction was read-only: closing rolls it back


# -- Chroma -----------------------------------------------------------------------------------


class ChromaSource:
    """A Chroma collection; use :func:`open_chroma`."""

    def __init__(self, collection: Any, guard: Callable[..., Any], description: str) -> None:
        self._col = collection
        self._guard = guard
        self._description = description

    @property
    def description(self) -> str:
        return self._description

    @property
    def layout(self) -> str:
        return "chroma"

    def count(self) -> int:
        return int(self._guard(self._col.count))

    def dimension(self) -> int | None:
        got = self._guard(self._col.get, limit=1, include=["embeddings"])
        embeddings = got.get("embeddings")
        return None if embeddings is None or len(embeddings) == 0 else len(embeddings[0])

    def batches(self, size: int, *, vectors: bool) -> Iterator[list[SourceRecord]]:
        include = ["documents", "metadatas"] + (["embeddings"] if vectors else [])
        offset = 0
        while True:
            got = self._guard(self._col.get, limit=size, offset=offset, include=include)
            ids = list(got["ids"])
            if not ids:
                return
            n = len(ids)
            docs = got.get("documents") or [None] * n
            metas = got.get("metadatas") or [None] * n
            vecs = got.get("embeddings") if vectors else None
            if vecs is None:
                vecs = [None] * n
            yield [SourceRecord(str(i), d, {} if m is None else dict(m), _floats(v))
                   for i, d, m, v in zip(ids, docs, metas, vecs)]
            offset += n


@contextmanager
def open_chroma(location: str, collection: str) -> Iterator[ChromaSource]:
    """A Chroma collection on a server (``http(s)://host:port``) or in a directory."""
    from .backends._chroma_client import chroma_call, connect, display_location, is_http

    if not isinstance(collection, str) or not collection.strip():
        raise InvalidInput(f"the collection must be a non-empty name, got {collection!r}")
    where = display_location(location)
    if not is_http(location) and not (Path(location) / "chroma.sqlite3").is_file():
        raise NotFound(f"no Chroma directory at {where} (it has no chroma.sqlite3); give the "
                       "persist_directory of the langchain-chroma store or a http(s):// server URL")

    def guard(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        return chroma_call(location, fn, *args, **kwargs)

    try:
        client = connect(location)
    except ConfigError as exc:
        raise InvalidInput(str(exc)) from exc
    try:
        try:
            col = guard(client.get_collection, collection, embedding_function=None)
        except BackendError as exc:
            from chromadb.errors import NotFoundError

            if not isinstance(exc.__cause__, NotFoundError):
                raise
            names = sorted(c.name for c in guard(client.list_collections))
            shown = ", ".join(names[:_MAX_EXAMPLES]) + (", …" if len(names) > _MAX_EXAMPLES
                                                         else "")
            raise NotFound(f"no Chroma collection named {collection!r} at {where}; collections "
                           f"there: {shown or 'none'}") from exc.__cause__
        yield ChromaSource(col, guard, f"Chroma collection {collection!r} at {where}")
    finally:
        if hasattr(client, "close"):
            client.close()


# -- the import ---------------------------------------------------------------------------------


def _memory(record: SourceRecord, agent_id: str, memory_type: MemoryType) -> Memory:
    if record.text is None or not record.text.strip():
        raise _Invalid("no text (empty document)")
    if not isinstance(record.metadata, dict):
        raise _Invalid(f"metadata is a {type(record.metadata).__name__}, not an object")
    try:
        metadata = _jsonable(record.metadata, "metadata")
        return Memory(id=record.id, content=record.text, agent_id=agent_id,
                      memory_type=memory_type, metadata=metadata)
    except ValidationError as exc:
        raise _Invalid("; ".join(f"{'.'.join(map(str, e['loc'])) or 'value'}: {e['msg']}"
                                 for e in exc.errors())) from exc


def _vector_plan(same_model: bool, source_dim: int | None, model: str, dim: int
                 ) -> tuple[bool, str]:
    """Whether to copy the source vectors, and the sentence that says what happens."""
    embedded = f"re-embedded with {model} (dimension {dim})"
    if source_dim is None:
        return False, f"{embedded}: the source holds no vectors"
    if not same_model:
        return False, (f"{embedded}: pass --same-model to copy the source vectors "
                       f"(dimension {source_dim}) if they come from that model")
    if source_dim != dim:
        return False, f"{embedded}: the source vectors have dimension {source_dim}"
    return True, (f"copied from the source (dimension {dim}; --same-model asserts they come "
                  f"from {model})")


def import_records(memory: HybridMemory, source: Source, agent_id: str, *,
                   memory_type: MemoryType | str = MemoryType.SEMANTIC, batch_size: int = 500,
                   same_model: bool = False, skip_invalid: bool = False,
                   progress: Progress | None = None) -> ImportReport:
    """Copy every record of ``source`` into ``agent_id``'s memories; see the module doc."""
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) \
            or not 1 <= batch_size <= _MAX_BATCH:
        raise InvalidInput(f"batch_size must be an int in 1..{_MAX_BATCH}, got {batch_size!r}")
    as_agent_id(agent_id)
    kind = as_memory_type(memory_type)
    started = time.monotonic()
    memory.get_many([], agent_id)  # the target is reachable and initialised, before any read
    embedder = memory.embedder
    report = ImportReport(source=source.description, layout=source.layout, agent_id=agent_id,
                          memory_type=kind.value, target_model=embedder.model_id,
                          target_dimension=embedder.dimension)
    report.source_count = source.count()
    report.source_dimension = source.dimension()
    copy, report.vectors_reason = _vector_plan(same_model, report.source_dimension,
                                               embedder.model_id, embedder.dimension)
    report.vectors = "copied" if copy else "re-embedded"
    if progress:
        progress(0, report.source_count)
    for batch in source.batches(batch_size, vectors=copy):
        report.read += len(batch)
        memories: list[Memory] = []
        vectors: list[list[float] | None] = []
        for record in batch:
            try:
                memories.append(_memory(record, agent_id, kind))
            except _Invalid as exc:
                if not skip_invalid:
                    raise InvalidInput(
                        f"record {record.id!r} of the {source.description} cannot become a "
                        f"memory: {exc}. Fix it in the source or skip such records "
                        "(--skip-invalid); earlier batches are imported already and a re-run "
                        "upserts them") from exc
                report.skipped += 1
                if len(report.skipped_examples) < _MAX_EXAMPLES:
                    report.skipped_examples.append(f"{record.id}: {exc}")
                continue
            ok = copy and record.vector is not None and len(record.vector) == embedder.dimension
            vectors.append(record.vector if ok else None)
        if memories:
            missing = [i for i, v in enumerate(vectors) if v is None]
            if copy and missing:
                fresh = embedder.embed_documents([memories[i].content for i in missing])
                for i, v in zip(missing, fresh):
                    vectors[i] = v
            full = [v for v in vectors if v is not None] if copy else None
            memory.remember_many(memories, full)
            report.imported += len(memories)
            embedded = len(missing) if copy else len(memories)
            report.vectors_embedded += embedded
            report.vectors_copied += len(memories) - embedded
            report.arrived += len(memory.get_many([m.id for m in memories], agent_id))
        report.batches += 1
        if progress:
            progress(report.read, report.source_count)
    report.seconds = round(time.monotonic() - started, 3)
    return report


def import_langchain_postgres(
    memory: HybridMemory, url: str, collection: str, agent_id: str, *,
    layout: Layout | str = Layout.AUTO, columns: PGVectorStoreColumns | None = None,
    memory_type: MemoryType | str = MemoryType.SEMANTIC, batch_size: int = 500,
    same_model: bool = False, skip_invalid: bool = False, progress: Progress | None = None,
) -> ImportReport:
    """Import a langchain-postgres ``PGVector`` collection or ``PGVectorStore`` table."""
    with open_langchain_postgres(url, collection, layout=layout, columns=columns) as source:
        return import_records(memory, source, agent_id, memory_type=memory_type,
                              batch_size=batch_size, same_model=same_model,
                              skip_invalid=skip_invalid, progress=progress)


def import_chroma(
    memory: HybridMemory, location: str, collection: str, agent_id: str, *,
    memory_type: MemoryType | str = MemoryType.SEMANTIC, batch_size: int = 500,
    same_model: bool = False, skip_invalid: bool = False, progress: Progress | None = None,
) -> ImportReport:
    """Import a Chroma (langchain-chroma) collection from a server URL or a directory."""
    with open_chroma(location, collection) as source:
        return import_records(memory, source, agent_id, memory_type=memory_type,
                              batch_size=batch_size, same_model=same_model,
                              skip_invalid=skip_invalid, progress=progress)
