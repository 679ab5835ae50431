"""Versioned schema migrations for the PostgreSQL backend.

Each migration is applied once, in order, inside one transaction, under an advisory
lock so two processes migrating at once cannot interleave. The vector dimension is the
only value formatted into DDL, and it is checked to be a positive int first.
"""

from __future__ import annotations

from psycopg import sql

__all__ = ["EXPECTED_INDEXES", "MIGRATIONS", "SCHEMA_VERSION", "migration_statements"]

MEMORIES = "agentmem_memories"
TURNS = "agentmem_turns"
META = "agentmem_meta"
MIGRATIONS_TABLE = "agentmem_migrations"
QUEUE = "agentmem_index_queue"
ANN = "agentmem_ann_indexes"
LINKS = "agentmem_links"
ARCHIVE = "agentmem_archive"
LOCK_KEY = 0x61676D656D  # "agmem": advisory lock id for migrations

_V1 = [
    """CREATE TABLE IF NOT EXISTS agentmem_meta (
        key text PRIMARY KEY,
        value text NOT NULL
    )""",
    """CREATE TABLE agentmem_memories (
        agent_id    text NOT NULL,
        id          text NOT NULL,
        memory_type text NOT NULL CHECK (memory_type IN ('episodic', 'semantic', 'procedural')),
        content     text NOT NULL,
        embedding   vector({dim}) NOT NULL,
        user_id     text,
        session_id  text,
        importance  double precision NOT NULL CHECK (importance >= 0 AND importance <= 1),
        metadata    jsonb NOT NULL DEFAULT '{{}}'::jsonb,
        source_ids  text[] NOT NULL DEFAULT '{{}}',
        created_at  timestamptz NOT NULL,
        updated_at  timestamptz NOT NULL,
        expires_at  timestamptz,
        needs_index boolean NOT NULL DEFAULT false,
        content_tsv tsvector GENERATED ALWAYS AS (to_tsvector('english', content)) STORED,
        PRIMARY KEY (agent_id, id)
    )""",
    "CREATE INDEX agentmem_memories_scope_idx"
    " ON agentmem_memories (agent_id, memory_type, created_at)",
    "CREATE INDEX agentmem_memories_embedding_idx"
    " ON agentmem_memories USING hnsw (embedding vector_cosine_ops)",
    "CREATE INDEX agentmem_memories_metadata_idx"
    " ON agentmem_memories USING gin (metadata jsonb_path_ops)",
    "CREATE INDEX agentmem_memories_tsv_idx ON agentmem_memories USING gin (content_tsv)",
    "CREATE INDEX agentmem_memories_pending_idx ON agentmem_memories (agent_id) WHERE needs_index",
    """CREATE TABLE agentmem_turns (
        agent_id   text NOT NULL,
        session_id text NOT NULL,
        seq        bigint GENERATED ALWAYS AS IDENTITY,
        role       text NOT NULL,
        content    text NOT NULL,
        extra      jsonb NOT NULL DEFAULT '{{}}'::jsonb,
        created_at timestamptz NOT NULL,
        PRIMARY KEY (agent_id, session_id, seq)
    )""",
]

# Version 2: no vector index that the query plan does not use (the global HNSW index cost
# ~95% of ingest time and the exact plan never read it); ANN indexes are per large agent,
# built by `agentmem optimize` and listed in agentmem_ann_indexes. The pending-index flag
# becomes a queue table, so marking and unmarking never rewrites an indexed row.
_V2 = [
    "DROP INDEX IF EXISTS agentmem_memories_embedding_idx",
    "CREATE SEQUENCE agentmem_index_queue_seq",
    """CREATE TABLE agentmem_index_queue (
        agent_id text NOT NULL,
        id       text NOT NULL,
        seq      bigint NOT NULL DEFAULT nextval('agentmem_index_queue_seq'),
        PRIMARY KEY (agent_id, id)
    )""",
    "INSERT INTO agentmem_index_queue (agent_id, id)"
    " SELECT agent_id, id FROM agentmem_memories WHERE needs_index",
    "DROP INDEX IF EXISTS agentmem_memories_pending_idx",
    "ALTER TABLE agentmem_memories DROP COLUMN needs_index",
    """CREATE TABLE agentmem_ann_indexes (
        agent_id        text PRIMARY KEY,
        index_name      text NOT NULL UNIQUE,
        m               int NOT NULL,
        ef_construction int NOT NULL,
        ef_search       int NOT NULL,
        rows_at_build   bigint NOT NULL,
        built_at        timestamptz NOT NULL DEFAULT now()
    )""",
]

# Version 3: lexical search on agentmem's own analyzer (agentmem.retrieval.lexical), the
# same terms Chroma mode scores, instead of PostgreSQL's 'english' configuration; the term
# count per row is BM25's document length. The backend fills both for existing rows right
# after these statements, inside the same transaction (PostgresBackend's _BACKFILLS).
_V3 = [
    "DROP INDEX IF EXISTS agentmem_memories_tsv_idx",
    "ALTER TABLE agentmem_memories DROP COLUMN content_tsv",
    "ALTER TABLE agentmem_memories ADD COLUMN lexemes tsvector NOT NULL DEFAULT ''::tsvector,"
    " ADD COLUMN lexeme_count int NOT NULL DEFAULT 0",
    "CREATE INDEX agentmem_memories_lexemes_idx ON agentmem_memories USING gin (lexemes)",
]

# Version 4: typed links between memories of one agent (consolidation's derived_from,
# merges' same_as, the caller's own). Both ends must exist; deleting either drops the link.
_V4 = [
    """CREATE TABLE agentmem_links (
        agent_id   text NOT NULL,
        source_id  text NOT NULL,
        relation   text NOT NULL CHECK (relation ~ '^[a-z][a-z0-9_]{{0,63}}$'),
        target_id  text NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (agent_id, source_id, relation, target_id),
        FOREIGN KEY (agent_id, source_id) REFERENCES agentmem_memories (agent_id, id)
            ON DELETE CASCADE,
        FOREIGN KEY (agent_id, target_id) REFERENCES agentmem_memories (agent_id, id)
            ON DELETE CASCADE,
        CHECK (source_id <> target_id)
    )""",
    "CREATE INDEX agentmem_links_target_idx ON agentmem_links (agent_id, target_id)",
]

# Version 5: retention. Every memory has a tier (existing rows take the one their
# importance gives under the default policy); cleanup finds expired rows by a partial
# index and can move them to an archive of the same shape.
_V5 = [
    "ALTER TABLE agentmem_memories ADD COLUMN tier text",
    "UPDATE agentmem_memories SET tier = CASE WHEN importance >= 0.9 THEN 'permanent'"
    " WHEN importance >= 0.7 THEN 'long_term' WHEN importance >= 0.4 THEN 'short_term'"
    " ELSE 'working' END",
    "ALTER TABLE agentmem_memories ALTER COLUMN tier SET NOT NULL,"
    " ADD CONSTRAINT agentmem_memories_tier_check"
    " CHECK (tier IN ('working', 'short_term', 'long_term', 'permanent'))",
    "CREATE INDEX agentmem_memories_expires_idx ON agentmem_memories (expires_at)"
    " WHERE expires_at IS NOT NULL",
    """CREATE TABLE agentmem_archive (
        LIKE agentmem_memories INCLUDING DEFAULTS INCLUDING CONSTRAINTS,
        archived_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (agent_id, id, archived_at)
    )""",
]

# version -> statements; append new versions, never edit an applied one.
MIGRATIONS: dict[int, list[str]] = {1: _V1, 2: _V2, 3: _V3, 4: _V4, 5: _V5}
SCHEMA_VERSION = max(MIGRATIONS)

EXPECTED_INDEXES = (
    "agentmem_memories_pkey",
    "agentmem_memories_scope_idx",
    "agentmem_memories_metadata_idx",
    "agentmem_memories_lexemes_idx",
    "agentmem_index_queue_pkey",
    "agentmem_ann_indexes_pkey",
    "agentmem_turns_pkey",
    "agentmem_links_pkey",
    "agentmem_links_target_idx",
    "agentmem_memories_expires_idx",
    "agentmem_archive_pkey",
)


def migration_statements(version: int, dimension: int) -> list[sql.Composed]:
    """The DDL of one migration with the vector dimension filled in."""
    if not isinstance(dimension, int) or isinstance(dimension, bool) or not 0 < dimension <= 16000:
        raise ValueError(f"vector dimension must be an int in 1..16000, got {dimension!r}")
    return [sql.SQL(stmt).format(dim=sql.Literal(dimension)) for stmt in MIGRATIONS[version]]
