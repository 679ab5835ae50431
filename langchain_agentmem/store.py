"""LangGraph's long-term memory store (``BaseStore``) over agentmem.

Mapping (one item = one agentmem memory):

- **Tenancy.** A store is bound to one ``agent_id`` (and one ``memory_type``, default
  ``semantic``) at construction. Every call is scoped to that agent by agentmem itself, so two
  stores for different agents on the same servers never see each other's items, whatever
  namespaces they use. Namespaces organise items *within* an agent (per user, per topic...).
- **Identity.** The memory id is ``"lgstore-" + sha256(memory_type, namespace, key)``, so a
  put of the same ``(namespace, key)`` upserts the same memory; ``created_at`` is kept
  across updates, ``updated_at`` moves.
- **Content and embedding.** The memory's content is the text of the indexed fields (LangGraph
  path syntax: ``"title"``, ``"a.b"``, ``"items[*].text"``, ``"$"`` for the whole value as
  JSON), several texts joined by newlines, embedded once by the memory's embedder. The
  store-wide default comes from ``index={"fields": [...]}`` (default ``["$"]``); a put's
  ``index=[...]`` overrides it.
- **Metadata.** ``lg_store`` (marker), ``lg_namespace`` (the labels), ``lg_ns_0..n`` (one
  label per level, for prefix filters), ``lg_ns_depth``, ``lg_key``, ``lg_value`` (the JSON
  value, returned as is), ``lg_indexed``, and ``lg_v_<field>`` copies of the value's
  top-level scalar fields, which is what ``filter`` compares.
- **``index=False``.** agentmem embeds every memory, so such an item still gets content (its
  whole value as JSON) and a vector, but is marked ``lg_indexed: false`` and left out of
  semantic (``query``) searches, as LangGraph's ``PostgresStore`` does. It is found by
  ``get``, by searches without ``query`` and by ``list_namespaces``. An item whose indexed
  fields are all missing is treated the same way.

Semantics, matching ``InMemoryStore``: reads in a batch see the state before the batch's
writes; the last put of a ``(namespace, key)`` in a batch wins; ``search`` without ``query``
lists oldest-created first; ``search`` with ``query`` ranks by cosine similarity
(``SearchItem.score``); namespace prefixes match whole labels.

- **TTL** (``supports_ttl``). ``put(..., ttl=minutes)`` (or ``ttl_config["default_ttl"]``)
  sets the memory's ``expires_at`` and records the TTL in ``lg_ttl``; a read with
  ``refresh_ttl`` (default ``ttl_config["refresh_on_read"]``, else True) restarts the clock
  of the items it returns. Expired items are never returned or listed, before or after
  agentmem's ``cleanup`` deletes them (``omit_expired`` always holds); the sweep is
  ``HybridMemory.cleanup`` / ``agentmem cleanup``, not a thread of the store.

Not supported: filters on nested fields, on non-scalar
values or with operators other than ``$eq $ne $gt $gte $lt $lte``, ordered comparisons of
strings, LangGraph-side embedding settings (``embed``; vectors come from agentmem's embedder),
and per-field vectors (several indexed fields make one vector, not a max over several).
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from langgraph.store.base import (
    BaseStore,
    GetOp,
    InvalidNamespaceError,
    Item,
    ListNamespacesOp,
    MatchCondition,
    Op,
    PutOp,
    Result,
    SearchItem,
    SearchOp,
    TTLConfig,
    get_text_at_path,
    tokenize_path,
    validate_op_namespace,
)

from agentmem import ConfigError, HybridMemory, InvalidFilter, InvalidInput, Memory, MemoryType
from agentmem.models import as_agent_id, as_memory_type, check_depth, utcnow

__all__ = ["AgentMemStore"]

ID_PREFIX = "lgstore-"
STORE = "lg_store"
NAMESPACE = "lg_namespace"
DEPTH = "lg_ns_depth"
KEY = "lg_key"
VALUE = "lg_value"
INDEXED = "lg_indexed"
TTL = "lg_ttl"
FIELD_PREFIX = "lg_v_"

_OPERATORS = frozenset({"$eq", "$ne", "$gt", "$gte", "$lt", "$lte"})
# agentmem filter fields are [A-Za-z_][A-Za-z0-9_-]{0,63}; the prefix takes 5 of the 64.
_FIELD = re.compile(r"^[A-Za-z0-9_\-]{1,59}$")
_I64 = (-(2**63), 2**63 - 1)


def _level(i: int) -> str:
    return f"lg_ns_{i}"


def _scalar(value: Any) -> bool:
    """A value agentmem can filter on the same way in every backend."""
    if isinstance(value, (bool, str)):
        return True
    if isinstance(value, int):
        return _I64[0] <= value <= _I64[1]
    return isinstance(value, float) and math.isfinite(value)


def _json_value(value: Any) -> dict[str, Any]:
    if not isinstance(value, Mapping):
        raise InvalidInput(f"a store value must be a dict, got {type(value).__name__}")
    try:
        check_depth(value, "a store value")  # before json.dumps, which would recurse
        out = json.loads(json.dumps(dict(value), allow_nan=False))
    except (TypeError, ValueError) as exc:
        raise InvalidInput(f"a store value must be JSON-serialisable: {exc}") from exc
    assert isinstance(out, dict)
    return out


def _does_match(condition: MatchCondition, namespace: tuple[str, ...]) -> bool:
    """LangGraph's prefix / suffix namespace match, with ``*`` matching any one label."""
    path = tuple(condition.path)
    if len(namespace) < len(path):
        return False
    if condition.match_type == "prefix":
        pairs = zip(namespace, path)
    elif condition.match_type == "suffix":
        pairs = zip(reversed(namespace), reversed(path))
    else:
        raise ValueError(f"unsupported namespace match type {condition.match_type!r}")
    return all(p == "*" or n == p for n, p in pairs)


class _Put:
    """One effective put of a batch (the last for its namespace and key)."""

    __slots__ = ("id", "op", "value")

    def __init__(self, id: str, op: PutOp, value: dict[str, Any] | None) -> None:
        self.id, self.op, self.value = id, op, value


class AgentMemStore(BaseStore):
    """A LangGraph ``BaseStore`` keeping items as memories of one agentmem agent.

    Args:
        memory: the agentmem store (borrowed: close it yourself).
        agent_id: the agent whose memories hold the items; the store's tenancy boundary.
        index: LangGraph's ``IndexConfig`` subset: ``{"fields": ["text", ...]}``; ``dims``, if
            given, must equal the embedder's dimension; ``embed`` is refused (agentmem's
            embedder is used). Default: the whole value as JSON text.
        memory_type: the agentmem memory type of the items (default ``semantic``); stores
            with different types on one agent are separate.
        importance: the importance given to every item's memory.
        ttl: LangGraph's ``TTLConfig``: ``default_ttl`` (minutes) for puts that give none,
            ``refresh_on_read``.

    Example:
        .. code-block:: python

            store = AgentMemStore(memory, agent_id="bot", index={"fields": ["text"]})
            store.put(("users", "u1"), "prefs", {"text": "likes dark mode", "lang": "en"})
            store.search(("users",), query="theme", filter={"lang": "en"})
    """

    supports_ttl: bool = True

    def __init__(
        self,
        memory: HybridMemory,
        *,
        agent_id: str,
        index: Mapping[str, Any] | None = None,
        memory_type: MemoryType | str = MemoryType.SEMANTIC,
        importance: float = 0.5,
        ttl: TTLConfig | None = None,
    ) -> None:
        as_agent_id(agent_id)
        self.memory_type = as_memory_type(memory_type)
        if isinstance(importance, bool) or not isinstance(importance, (int, float)) or not (
                0.0 <= importance <= 1.0):
            raise InvalidInput(f"importance must be a number in [0, 1], got {importance!r}")
        config = dict(index or {})
        if config.get("embed") is not None:
            raise ConfigError("AgentMemStore embeds with the memory's embedder: drop 'embed' "
                              "from the index config (configure AGENTMEM_EMBEDDINGS instead)")
        dims = config.get("dims")
        if dims is not None and dims != memory.embedder.dimension:
            raise ConfigError(f"index dims {dims} differ from the embedder's dimension "
                              f"{memory.embedder.dimension} ({memory.embedder.model_id})")
        unknown = set(config) - {"fields", "dims", "embed"}
        if unknown:
            raise ConfigError(f"unsupported index config keys: {sorted(unknown)}")
        fields = config.get("fields") or ["$"]
        if isinstance(fields, str) or not all(isinstance(f, str) and f for f in fields):
            raise ConfigError(f"index fields must be a list of path strings, got {fields!r}")
        self.memory = memory
        self.agent_id = agent_id
        self.importance = float(importance)
        self.index_fields: list[str] = list(fields)
        default = (ttl or {}).get("default_ttl")
        if default is not None and (isinstance(default, bool) or not isinstance(
                default, (int, float)) or not 0 < default < math.inf):
            raise ConfigError(f"default_ttl must be a positive number of minutes, got {default!r}")
        self.ttl_config = ttl

    def __repr__(self) -> str:
        return (f"{type(self).__name__}(agent_id={self.agent_id!r}, "
                f"memory_type={self.memory_type.value!r}, fields={self.index_fields!r})")

    # -- translation: LangGraph -> agentmem -----------------------------------------------

    def _id(self, namespace: tuple[str, ...], key: str) -> str:
        ident = json.dumps([self.memory_type.value, list(namespace), key], ensure_ascii=True)
        return ID_PREFIX + hashlib.sha256(ident.encode()).hexdigest()

    def _content(self, value: dict[str, Any], index: Any) -> tuple[str, bool]:
        """The text to embed and whether the item is searchable by ``query``."""
        whole = json.dumps(value, sort_keys=True, ensure_ascii=False)
        if index is False:
            return whole, False
        paths = self.index_fields if index is None else list(index)
        texts = [text for path in paths
                 for text in get_text_at_path(value, "$" if path == "$" else tokenize_path(path))]
        content = "\n".join(texts).replace("\x00", "")
        if not content.strip():  # nothing to index: stored, but not found by query
            return whole, False
        return content, True

    def _metadata(self, namespace: tuple[str, ...], key: str, value: dict[str, Any],
                  indexed: bool, ttl: float | None) -> dict[str, Any]:
        meta: dict[str, Any] = {STORE: True, NAMESPACE: list(namespace), DEPTH: len(namespace),
                                KEY: key, VALUE: value, INDEXED: indexed}
        if ttl is not None:
            meta[TTL] = float(ttl)
        meta.update({_level(i): label for i, label in enumerate(namespace)})
        meta.update({FIELD_PREFIX + name: v for name, v in value.items()
                     if _FIELD.match(name) and _scalar(v)})
        return meta

    def _memory(self, put: _Put, existing: Memory | None, now: datetime) -> Memory:
        assert put.value is not None
        namespace, key = tuple(put.op.namespace), str(put.op.key)
        content, indexed = self._content(put.value, put.op.index)
        created = existing.created_at if existing is not None else now
        ttl = put.op.ttl
        if ttl is not None and (isinstance(ttl, bool) or not isinstance(ttl, (int, float))
                                or not 0 < ttl < math.inf):
            raise InvalidInput(f"ttl must be a positive number of minutes or None, got {ttl!r}")
        try:
            return Memory(id=put.id, content=content, agent_id=self.agent_id,
                          memory_type=self.memory_type, importance=self.importance,
                          metadata=self._metadata(namespace, key, put.value, indexed, ttl),
                          created_at=created, updated_at=now,
                          expires_at=None if ttl is None else now + timedelta(minutes=ttl))
        except (ValueError, OverflowError) as exc:  # OverflowError: a ttl past year 9999
            raise InvalidInput(f"cannot store {namespace}/{key}: {exc}") from exc

    def _scope(self, prefix: Sequence[str]) -> list[dict[str, Any]]:
        return [{STORE: True}, *({_level(i): label} for i, label in enumerate(prefix))]

    def _filter(self, op: SearchOp) -> dict[str, Any]:
        """The agentmem filter of a search: this store, the namespace prefix, the value filter."""
        clauses = self._scope(op.namespace_prefix)
        for field, condition in (op.filter or {}).items():
            if not isinstance(field, str) or not _FIELD.match(field):
                raise InvalidFilter(f"cannot filter on {field!r}: AgentMemStore filters on "
                                    "top-level value fields named with letters, digits, '_' "
                                    "or '-' (at most 59 characters)")
            name = FIELD_PREFIX + field
            if isinstance(condition, Mapping) and any(str(k).startswith("$") for k in condition):
                for operator, operand in condition.items():
                    if operator not in _OPERATORS:
                        raise InvalidFilter(f"unsupported filter operator {operator!r} on "
                                            f"{field!r}: use {', '.join(sorted(_OPERATORS))}")
                    clauses.append({name: {operator: self._operand(field, operand)}})
            else:
                clauses.append({name: {"$eq": self._operand(field, condition)}})
        return {"$and": clauses}

    @staticmethod
    def _operand(field: str, value: Any) -> Any:
        if not _scalar(value):
            raise InvalidFilter(f"cannot filter {field!r} by {value!r}: AgentMemStore compares "
                                "top-level fields with strings, numbers and booleans only")
        return value

    # -- translation: agentmem -> LangGraph ----------------------------------------------

    @staticmethod
    def _is_item(memory: Memory) -> bool:
        meta = memory.metadata
        return meta.get(STORE) is True and isinstance(meta.get(KEY), str) and isinstance(
            meta.get(NAMESPACE), list) and isinstance(meta.get(VALUE), dict)

    @staticmethod
    def _item(memory: Memory) -> Item:
        meta = memory.metadata
        return Item(value=meta[VALUE], key=meta[KEY], namespace=tuple(meta[NAMESPACE]),
                    created_at=memory.created_at, updated_at=memory.updated_at)

    @staticmethod
    def _search_item(memory: Memory, score: float | None) -> SearchItem:
        meta = memory.metadata
        return SearchItem(namespace=tuple(meta[NAMESPACE]), key=meta[KEY], value=meta[VALUE],
                          created_at=memory.created_at, updated_at=memory.updated_at,
                          score=score)

    def _search_items(self, op: SearchOp, found: Sequence[tuple[Memory, float | None]],
                      read: list[Memory]) -> list[SearchItem]:
        """The store's items among ``found``, noting them in ``read`` for a TTL refresh."""
        items = [(m, score) for m, score in found if self._is_item(m)]
        if op.refresh_ttl:
            read.extend(m for m, _ in items)
        return [self._search_item(m, score) for m, score in items]

    # -- batch plans ------------------------------------------------------------------

    def _prepare(self, ops: Iterable[Op]) -> tuple[list[Op], list[_Put]]:
        ops = list(ops)
        puts: dict[tuple[tuple[str, ...], str], _Put] = {}
        for op in ops:
            if not isinstance(op, (GetOp, SearchOp, PutOp, ListNamespacesOp)):
                raise ValueError(f"unknown store operation {type(op).__name__}")
            validate_op_namespace(op)
            if isinstance(op, PutOp):
                namespace = tuple(op.namespace)
                if not namespace:
                    raise InvalidNamespaceError("Namespace cannot be empty.")
                value = None if op.value is None else _json_value(op.value)
                key = str(op.key)
                puts[(namespace, key)] = _Put(self._id(namespace, key), op, value)
        return ops, list(puts.values())

    def _get_ids(self, ops: list[Op]) -> list[str]:
        return [self._id(tuple(op.namespace), str(op.key)) for op in ops if isinstance(op, GetOp)]

    def _fill_gets(self, ops: list[Op], found: list[Memory], results: list[Result],
                   read: list[Memory]) -> None:
        by_id = {m.id: m for m in found if self._is_item(m)}
        for i, op in enumerate(ops):
            if isinstance(op, GetOp):
                m = by_id.get(self._id(tuple(op.namespace), str(op.key)))
                results[i] = None if m is None else self._item(m)
                if m is not None and op.refresh_ttl:
                    read.append(m)

    @staticmethod
    def _refreshes(read: list[Memory]) -> dict[datetime, list[str]]:
        """{new expiry: ids} restarting the TTL of each read item that has one."""
        now, out = utcnow(), dict[datetime, list[str]]()
        for m in read:
            ttl = m.metadata.get(TTL)
            if isinstance(ttl, (int, float)) and m.expires_at is not None:
                out.setdefault(now + timedelta(minutes=ttl), []).append(m.id)
        return {until: list(dict.fromkeys(ids)) for until, ids in out.items()}

    def _recall_args(self, op: SearchOp) -> dict[str, Any]:
        where = self._filter(op)
        where["$and"].append({INDEXED: True})
        # dense only: a LangGraph store's search scores are cosine similarities
        return dict(memory_types=[self.memory_type], k=op.offset + op.limit, filter=where,
                    lexical_weight=0.0)

    def _list_args(self, op: SearchOp) -> dict[str, Any]:
        return dict(memory_types=[self.memory_type], filter=self._filter(op), limit=op.limit,
                    offset=op.offset)

    @staticmethod
    def _check_page(limit: int, offset: int) -> bool:
        """False when the page is empty by construction (limit 0)."""
        for name, n in (("limit", limit), ("offset", offset)):
            if isinstance(n, bool) or not isinstance(n, int) or n < 0:
                raise InvalidInput(f"{name} must be a non-negative int, got {n!r}")
        return limit > 0

    @staticmethod
    def _namespaces(memories: list[Memory]) -> list[tuple[str, ...]]:
        return list(dict.fromkeys(tuple(m.metadata[NAMESPACE]) for m in memories
                                  if AgentMemStore._is_item(m)))

    def _list_namespaces(self, op: ListNamespacesOp,
                         namespaces: list[tuple[str, ...]]) -> list[tuple[str, ...]]:
        self._check_page(op.limit, op.offset)
        found = [ns for ns in namespaces
                 if all(_does_match(c, ns) for c in op.match_conditions or ())]
        if op.max_depth is not None:
            found = [ns[:op.max_depth] for ns in found]
        return sorted(set(found))[op.offset:op.offset + op.limit]

    def _all_items_args(self) -> dict[str, Any]:
        return dict(memory_types=[self.memory_type], filter={STORE: True})

    def _upserts(self, puts: list[_Put], existing: list[Memory]) -> list[Memory]:
        old = {m.id: m for m in existing}
        now = utcnow()
        # Distinct microseconds keep a batch's items in put order when listed.
        return [self._memory(p, old.get(p.id), now + timedelta(microseconds=i))
                for i, p in enumerate(p for p in puts if p.value is not None)]

    # -- BaseStore ----------------------------------------------------------------------

    def batch(self, ops: Iterable[Op]) -> list[Result]:
        """Run the operations; reads see the state before this batch's writes."""
        memory, agent = self.memory, self.agent_id
        op_list, puts = self._prepare(ops)
        results: list[Result] = [None] * len(op_list)
        read: list[Memory] = []
        get_ids = self._get_ids(op_list)
        if get_ids:
            self._fill_gets(op_list, memory.get_many(get_ids, agent), results, read)
        namespaces: list[tuple[str, ...]] | None = None
        for i, op in enumerate(op_list):
            if isinstance(op, SearchOp):
                if not self._check_page(op.limit, op.offset):
                    results[i] = []
                    continue
                found: list[tuple[Memory, float | None]]
                if op.query:
                    found = [(h.memory, h.score) for h in
                             memory.recall(op.query, agent, **self._recall_args(op))[op.offset:]]
                else:
                    found = [(m, None) for m in memory.memories(agent, **self._list_args(op))]
                results[i] = self._search_items(op, found, read)
            elif isinstance(op, ListNamespacesOp):
                if namespaces is None:
                    namespaces = self._namespaces(memory.memories(agent, **self._all_items_args()))
                results[i] = self._list_namespaces(op, namespaces)
        for until, ids in self._refreshes(read).items():
            memory.set_expiry(ids, agent, until)
        deletes = [p.id for p in puts if p.value is None]
        if deletes:
            memory.forget(deletes, agent)
        writes = [p for p in puts if p.value is not None]
        if writes:
            existing = memory.get_many([p.id for p in writes], agent)
            memory.remember_many(self._upserts(writes, existing))
        return results

    async def abatch(self, ops: Iterable[Op]) -> list[Result]:
        memory, agent = self.memory, self.agent_id
        op_list, puts = self._prepare(ops)
        results: list[Result] = [None] * len(op_list)
        read: list[Memory] = []
        get_ids = self._get_ids(op_list)
        if get_ids:
            self._fill_gets(op_list, await memory.aget_many(get_ids, agent), results, read)
        namespaces: list[tuple[str, ...]] | None = None
        for i, op in enumerate(op_list):
            if isinstance(op, SearchOp):
                if not self._check_page(op.limit, op.offset):
                    results[i] = []
                    continue
                found: list[tuple[Memory, float | None]]
                if op.query:
                    hits = await memory.arecall(op.query, agent, **self._recall_args(op))
                    found = [(h.memory, h.score) for h in hits[op.offset:]]
                else:
                    found = [(m, None) for m in await memory.amemories(agent,
                                                                        **self._list_args(op))]
                results[i] = self._search_items(op, found, read)
            elif isinstance(op, ListNamespacesOp):
                if namespaces is None:
                    namespaces = self._namespaces(
                        await memory.amemories(agent, **self._all_items_args()))
                results[i] = self._list_namespaces(op, namespaces)
        for until, ids in self._refreshes(read).items():
            await memory.aset_expiry(ids, agent, until)
        deletes = [p.id for p in puts if p.value is None]
        if deletes:
            await memory.aforget(deletes, agent)
        writes = [p for p in puts if p.value is not None]
        if writes:
            existing = await memory.aget_many([p.id for p in writes], agent)
            await memory.aremember_many(self._upserts(writes, existing))
        return results
