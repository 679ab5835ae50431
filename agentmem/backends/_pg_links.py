"""SQL of the links between memories (schema 4), used by :class:`PostgresBackend` only."""

from __future__ import annotations

from typing import Any

from ..models import MemoryLink

__all__ = ["INSERT_LINKS", "LINKS_OF", "UNLINK", "WALK", "link_of"]

# Every new link once: ends that are not memories of the agent fail the foreign keys.
INSERT_LINKS = (
    "INSERT INTO agentmem_links (agent_id, source_id, relation, target_id, created_at)"
    " SELECT %s, s, r, t, c FROM unnest(%s::text[], %s::text[], %s::text[], %s::timestamptz[])"
    " AS l(s, r, t, c) ON CONFLICT DO NOTHING RETURNING 1"
)

UNLINK = (
    "DELETE FROM agentmem_links WHERE agent_id = %s AND source_id = %s AND target_id = %s"
    " AND (%s::text IS NULL OR relation = %s)"
)

LINKS_OF = (
    "SELECT source_id, relation, target_id, created_at FROM agentmem_links"
    " WHERE agent_id = %s AND (source_id = ANY(%s) OR target_id = ANY(%s))"
    " ORDER BY created_at, source_id, relation, target_id"
)

# A breadth-first walk from the start ids over links of one agent, each step following a
# link forwards (out) and/or backwards (in); the shallowest arrival at each memory wins.
# {columns} are the memory columns, {alive} the expiry rule.
WALK = (
    "WITH RECURSIVE edges AS ("
    "  SELECT source_id AS a, target_id AS b, relation, TRUE AS outgoing FROM agentmem_links"
    "   WHERE agent_id = %(agent)s AND %(out)s AND (%(rel)s::text IS NULL OR relation = %(rel)s)"
    "  UNION ALL"
    "  SELECT target_id, source_id, relation, FALSE FROM agentmem_links"
    "   WHERE agent_id = %(agent)s AND %(in)s AND (%(rel)s::text IS NULL OR relation = %(rel)s)"
    "), walk AS ("
    "  SELECT e.b AS id, e.relation, e.outgoing, 1 AS depth, e.a AS via FROM edges e"
    "   WHERE e.a = ANY(%(ids)s)"
    "  UNION"
    "  SELECT e.b, e.relation, e.outgoing, w.depth + 1, e.a FROM walk w JOIN edges e ON e.a = w.id"
    "   WHERE w.depth < %(depth)s"
    ")"
    " SELECT * FROM (SELECT DISTINCT ON (w.id) w.relation AS link_relation,"
    "  w.outgoing AS link_outgoing, w.depth AS link_depth, w.via AS link_via, {columns}"
    "  FROM walk w JOIN agentmem_memories m ON m.agent_id = %(agent)s AND m.id = w.id"
    "  WHERE w.id <> ALL(%(ids)s) AND {alive}"
    "  ORDER BY w.id, w.depth, w.via, w.relation) found"
    " ORDER BY link_depth, created_at, id"
)


def link_of(row: dict[str, Any]) -> MemoryLink:
    return MemoryLink.model_construct(source_id=row["source_id"], target_id=row["target_id"],
                                      relation=row["relation"], created_at=row["created_at"])
