"""``AgentMemVectorStore``: a LlamaIndex vector store over one agent's memories of one type.

A thin translation layer. A node is stored as one memory: its text is the memory's
``content``, its id the memory's ``id``, and its metadata the memory's ``metadata`` as
LlamaIndex's own ``node_to_metadata_dict`` lays it out (the user's keys at the top, so they
stay filterable, plus ``_node_content`` / ``_node_type`` to rebuild the node and ``doc_id`` /
``ref_doc_id`` / ``document_id`` for the source document). Every call goes to
:class:`~agentmem.HybridMemory`, and every async method awaits agentmem's async twin.

:func:`to_agentmem_filter` translates LlamaIndex ``MetadataFilters`` into agentmem's filter
language; what agentmem cannot express raises :class:`~agentmem.InvalidFilter`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

from llama_index.core.bridge.pydantic import PrivateAttr
from llama_index.core.schema import BaseNode, MetadataMode, TextNode
from llama_index.core.vector_stores.types import (
    BasePydanticVectorStore,
    FilterCondition,
    FilterOperator,
    MetadataFilter,
    MetadataFilters,
    VectorStoreQuery,
    VectorStoreQueryMode,
    VectorStoreQueryResult,
)
from llama_index.core.vector_stores.utils import metadata_dict_to_node, node_to_metadata_dict
from pydantic import ValidationError

from agentmem import MMR, HybridMemory, Memory, MemoryHit, MemoryType
from agentmem.errors import InvalidFilter, InvalidInput
from agentmem.models import as_agent_id, as_memory_type

__all__ = ["AgentMemVectorStore", "to_agentmem_filter"]

# -- filters ----------------------------------------------------------------------------------

_OPERATORS: dict[FilterOperator, str] = {
    FilterOperator.EQ: "$eq",
    FilterOperator.NE: "$ne",
    FilterOperator.GT: "$gt",
    FilterOperator.GTE: "$gte",
    FilterOperator.LT: "$lt",
    FilterOperator.LTE: "$lte",
    FilterOperator.IN: "$in",
    FilterOperator.NIN: "$nin",
}
# The negation of each operator, under agentmem's semantics ($ne / $nin match a missing
# field, the others do not): only these four have an exact complement.
_NEGATED: dict[str, str] = {"$eq": "$ne", "$ne": "$eq", "$in": "$nin", "$nin": "$in"}
_WHY_NOT: dict[str, str] = {
    "any": "it tests membership in a metadata list",
    "all": "it tests membership in a metadata list",
    "contains": "it tests membership in a metadata list",
    "text_match": "it matches a substring of a metadata value",
    "text_match_insensitive": "it matches a substring of a metadata value",
    "is_empty": "it tests whether a field is missing or empty",
}
_SUPPORTED = ", ".join(op.name for op in _OPERATORS)


def to_agentmem_filter(filters: MetadataFilters) -> dict[str, Any]:
    """Translate LlamaIndex ``MetadataFilters`` into an agentmem filter dict.

    ``EQ NE GT GTE LT LTE IN NIN`` map to ``$eq $ne $gt $gte $lt $lte $in $nin``; groups
    nest with ``AND`` / ``OR``. ``NOT`` (true when none of its filters is) is pushed down to
    the leaves: ``EQ``/``NE`` and ``IN``/``NIN`` swap, which is exact because ``$ne`` and
    ``$nin`` match nodes lacking the field; an ordered comparison under ``NOT`` is refused,
    as its complement would have to match those nodes too. Any other operator (``ANY``,
    ``ALL``, ``CONTAINS``, ``TEXT_MATCH``, ``TEXT_MATCH_INSENSITIVE``, ``IS_EMPTY``) raises
    :class:`~agentmem.InvalidFilter` naming it. Values are checked by agentmem when the
    filter is used. An empty ``MetadataFilters`` gives ``{}`` (no filter).
    """
    if not isinstance(filters, MetadataFilters):
        raise InvalidFilter(f"filters must be a llama_index MetadataFilters, "
                            f"got {type(filters).__name__}")
    if not filters.filters:
        return {}
    return _group(filters, negate=False)


def _group(filters: MetadataFilters, negate: bool) -> dict[str, Any]:
    condition = filters.condition or FilterCondition.AND
    if condition not in (FilterCondition.AND, FilterCondition.OR, FilterCondition.NOT):
        raise InvalidFilter(f"unknown filter condition {condition!r}: use AND, OR or NOT")
    if not filters.filters:
        raise InvalidFilter("a nested MetadataFilters needs at least one filter")
    # NOT(f...) == AND(not f...); negating a group swaps AND and OR (De Morgan).
    child_negate = negate != (condition == FilterCondition.NOT)
    is_and = (condition != FilterCondition.OR) != negate
    children = [_group(f, child_negate) if isinstance(f, MetadataFilters) else
                _leaf(f, child_negate) for f in filters.filters]
    if len(children) == 1:
        return children[0]
    return {"$and" if is_and else "$or": children}


def _leaf(f: MetadataFilter, negate: bool) -> dict[str, Any]:
    if not isinstance(f, MetadataFilter):
        raise InvalidFilter(f"expected a MetadataFilter or MetadataFilters, got {f!r}")
    try:
        operator = FilterOperator(f.operator)
    except ValueError as exc:
        raise InvalidFilter(f"unknown filter operator {f.operator!r} on {f.key!r}") from exc
    op = _OPERATORS.get(operator)
    if op is None:
        why = _WHY_NOT.get(operator.value, "agentmem has no such operator")
        raise InvalidFilter(
            f"filter operator {operator.name} ({operator.value!r}) on {f.key!r} is not supported "
            f"by agentmem: {why}. Supported operators: {_SUPPORTED}, combined with AND, OR, NOT")
    if negate:
        if op not in _NEGATED:
            raise InvalidFilter(
                f"NOT over {operator.name} ({operator.value!r}) on {f.key!r} cannot be expressed: "
                f"its complement must also match nodes without {f.key!r}, which agentmem cannot "
                "test; write the opposite comparison instead (e.g. LTE for NOT GT)")
        op = _NEGATED[op]
    return {f.key: {op: f.value}}


# -- nodes <-> memories -----------------------------------------------------------------------


def _node(memory: Memory) -> BaseNode:
    """The LlamaIndex node a memory holds; a memory not written by LlamaIndex is a TextNode."""
    if "_node_content" in memory.metadata:
        return metadata_dict_to_node(memory.metadata, text=memory.content)
    return TextNode(id_=memory.id, text=memory.content, metadata=dict(memory.metadata))


def _result(hits: Sequence[MemoryHit]) -> VectorStoreQueryResult:
    return VectorStoreQueryResult(nodes=[_node(h.memory) for h in hits],
                                  similarities=[h.score for h in hits],
                                  ids=[h.memory.id for h in hits])


def _no_extra(kwargs: Mapping[str, Any], method: str) -> None:
    if kwargs:
        raise TypeError(f"AgentMemVectorStore.{method} got unexpected arguments: "
                        f"{', '.join(sorted(kwargs))}")


def _and(*parts: Mapping[str, Any] | None) -> dict[str, Any] | None:
    present = [dict(p) for p in parts if p]
    if not present:
        return None
    return present[0] if len(present) == 1 else {"$and": present}


_QUERY_MODES = (VectorStoreQueryMode.DEFAULT, VectorStoreQueryMode.MMR,
                VectorStoreQueryMode.TEXT_SEARCH, VectorStoreQueryMode.HYBRID)


class AgentMemVectorStore(BasePydanticVectorStore):
    """The memories of one agent and one memory type, as a LlamaIndex vector store.

    ``AgentMemVectorStore(memory, agent_id="assistant-1", memory_type="semantic")``.

    * Node ids are memory ids (agentmem keeps them unique per agent across memory types, so
      re-using the id of one of this agent's memories of another type moves it here);
      ``add`` is one atomic upsert. A node's own ``embedding`` is stored as given; nodes
      without one are embedded by the memory's embedder. Nodes without text are refused
      with ``InvalidInput`` (agentmem stores no empty memory).
    * Queries and added embeddings must live in the memory's embedding space: give the
      index an ``embed_model`` that is the memory's embedder (same model and dimension).
    * Filters: see :func:`to_agentmem_filter`. Keys name metadata, except agentmem's
      column names (``id``, ``importance``, ``user_id``, ``session_id``, ``created_at``,
      ``updated_at``, ``expires_at``), which filter on the memory's own fields.
    * Query modes: ``DEFAULT`` (dense), ``MMR`` (``mmr_threshold`` is agentmem's
      ``lambda_mult``; fetch size from the ``mmr_prefetch_k`` / ``mmr_prefetch_factor``
      keyword arguments, default ``4 * similarity_top_k``), ``TEXT_SEARCH`` (agentmem's lexical
      ``search_text``; ``sparse_top_k`` or ``similarity_top_k`` results) and ``HYBRID``
      (agentmem's fused recall with ``lexical_weight = 1 - alpha``, ``alpha`` 0.5 when
      unset; ``hybrid_top_k`` or ``similarity_top_k`` results; each hit keeps the score of
      the search that found it; the dense side uses ``query_embedding`` when LlamaIndex
      gives one, else agentmem embeds ``query_str``). Other modes raise
      ``InvalidInput``.
    * ``node_ids`` / ``doc_ids`` restrict a query or ``get_nodes`` / ``delete_nodes`` to
      those node ids / source document ids; as elsewhere in LlamaIndex (an index over a
      text-storing store passes ``node_ids=[]``), ``None`` and ``[]`` mean no restriction.
      ``delete_nodes()`` with neither ids nor filters deletes nothing; ``clear()`` deletes
      everything of this store.
    * Nodes come back without their ``embedding`` (agentmem does not return vectors).
      Memories not written through LlamaIndex come back as ``TextNode``s.
    """

    stores_text: bool = True
    is_embedding_query: bool = True
    agent_id: str
    memory_type: MemoryType = MemoryType.SEMANTIC

    _memory: HybridMemory = PrivateAttr()

    def __init__(self, memory: HybridMemory, *, agent_id: str,
                 memory_type: MemoryType | str = MemoryType.SEMANTIC) -> None:
        if not isinstance(memory, HybridMemory):
            raise InvalidInput(f"memory must be a HybridMemory, got {type(memory).__name__}")
        as_agent_id(agent_id)
        kind = as_memory_type(memory_type)
        # mypy sees only the parent's synthesised pydantic __init__, not this class's fields.
        super().__init__(agent_id=agent_id, memory_type=kind)  # type: ignore[call-arg]
        self._memory = memory

    @classmethod
    def class_name(cls) -> str:
        return "AgentMemVectorStore"

    def __repr__(self) -> str:
        return (f"AgentMemVectorStore(mode={self._memory.mode!r}, agent_id={self.agent_id!r}, "
                f"memory_type={self.memory_type.value!r})")

    @property
    def client(self) -> HybridMemory:
        """The :class:`~agentmem.HybridMemory` this store reads and writes."""
        return self._memory

    # -- writing ------------------------------------------------------------------------------

    def _memories(self, nodes: Sequence[BaseNode]) -> list[Memory]:
        out = []
        for node in nodes:
            text = node.get_content(metadata_mode=MetadataMode.NONE)
            if not isinstance(text, str) or not text.strip():
                raise InvalidInput(f"node {node.node_id!r} has no text: agentmem stores no empty "
                                   "memory; drop or fill such nodes first")
            try:
                out.append(Memory(id=node.node_id, content=text, agent_id=self.agent_id,
                                  memory_type=self.memory_type,
                                  metadata=node_to_metadata_dict(node, remove_text=True)))
            except ValidationError as exc:
                problems = "; ".join(f"{'.'.join(map(str, e['loc'])) or 'value'}: {e['msg']}"
                                     for e in exc.errors())
                raise InvalidInput(f"node {node.node_id!r} cannot be stored: {problems}") from exc
        return out

    def add(self, nodes: Sequence[BaseNode], **kwargs: Any) -> list[str]:
        """Upsert nodes (one atomic batch); returns their ids."""
        _no_extra(kwargs, "add")
        memories = self._memories(nodes)
        if not memories:
            return []
        missing = [i for i, n in enumerate(nodes) if n.embedding is None]
        embeddings = None
        if len(missing) < len(nodes):
            computed = self._memory.embedder.embed_documents(
                [memories[i].content for i in missing]) if missing else []
            embeddings = self._embeddings(nodes, missing, computed)
        return [m.id for m in self._memory.remember_many(memories, embeddings)]

    async def async_add(self, nodes: Sequence[BaseNode], **kwargs: Any) -> list[str]:
        _no_extra(kwargs, "async_add")
        memories = self._memories(nodes)
        if not memories:
            return []
        missing = [i for i, n in enumerate(nodes) if n.embedding is None]
        embeddings = None
        if len(missing) < len(nodes):
            computed = await self._memory.embedder.aembed_documents(
                [memories[i].content for i in missing]) if missing else []
            embeddings = self._embeddings(nodes, missing, computed)
        return [m.id for m in await self._memory.aremember_many(memories, embeddings)]

    @staticmethod
    def _embeddings(nodes: Sequence[BaseNode], missing: list[int],
                    computed: Sequence[Sequence[float]]) -> list[Sequence[float]]:
        """Each node's own embedding, the memory embedder's where a node has none."""
        filled = dict(zip(missing, computed))
        return [filled[i] if n.embedding is None else n.embedding for i, n in enumerate(nodes)]

    def _scope(self) -> dict[str, Any]:
        return {"agent_id": self.agent_id, "memory_types": [self.memory_type]}

    def delete(self, ref_doc_id: str, **delete_kwargs: Any) -> None:
        """Delete every node of the source document ``ref_doc_id``."""
        _no_extra(delete_kwargs, "delete")
        self._memory.forget(filter={"ref_doc_id": ref_doc_id}, **self._scope())

    async def adelete(self, ref_doc_id: str, **delete_kwargs: Any) -> None:
        _no_extra(delete_kwargs, "adelete")
        await self._memory.aforget(filter={"ref_doc_id": ref_doc_id}, **self._scope())

    @staticmethod
    def _selection(node_ids: Sequence[str] | None, filters: MetadataFilters | None
                   ) -> dict[str, Any] | None:
        where = to_agentmem_filter(filters) if filters is not None else None
        ids = [node_ids] if isinstance(node_ids, str) else node_ids  # a str is one id
        return _and(where, {"id": {"$in": list(ids)}} if ids else None)

    def delete_nodes(self, node_ids: list[str] | None = None,
                     filters: MetadataFilters | None = None, **delete_kwargs: Any) -> None:
        """Delete the nodes matching ``node_ids`` and ``filters``; with neither, nothing."""
        _no_extra(delete_kwargs, "delete_nodes")
        where = self._selection(node_ids, filters)
        if where is not None:
            self._memory.forget(filter=where, **self._scope())

    async def adelete_nodes(self, node_ids: list[str] | None = None,
                            filters: MetadataFilters | None = None,
                            **delete_kwargs: Any) -> None:
        _no_extra(delete_kwargs, "adelete_nodes")
        where = self._selection(node_ids, filters)
        if where is not None:
            await self._memory.aforget(filter=where, **self._scope())

    def clear(self) -> None:
        """Delete every node of this store (this agent, this memory type)."""
        self._memory.forget(**self._scope())

    async def aclear(self) -> None:
        await self._memory.aforget(**self._scope())

    # -- reading ------------------------------------------------------------------------------

    def _mine(self, memories: Sequence[Memory]) -> list[BaseNode]:
        return [_node(m) for m in memories if m.memory_type == self.memory_type]

    def get_nodes(self, node_ids: list[str] | None = None,
                  filters: MetadataFilters | None = None) -> list[BaseNode]:
        """Nodes by id (in the order asked) and/or filter; with neither, all of this store."""
        if filters is None and node_ids:
            return self._mine(self._memory.get_many(node_ids, self.agent_id))
        where = self._selection(node_ids, filters)
        return self._mine(self._memory.memories(filter=where, **self._scope()))

    async def aget_nodes(self, node_ids: list[str] | None = None,
                         filters: MetadataFilters | None = None) -> list[BaseNode]:
        if filters is None and node_ids:
            return self._mine(await self._memory.aget_many(node_ids, self.agent_id))
        where = self._selection(node_ids, filters)
        return self._mine(await self._memory.amemories(filter=where, **self._scope()))

    def _plan(self, query: VectorStoreQuery, kwargs: dict[str, Any], method: str
              ) -> tuple[str, dict[str, Any]]:
        """Which agentmem call answers ``query``, and its arguments."""
        mmr_threshold = kwargs.pop("mmr_threshold", None)
        prefetch_k = kwargs.pop("mmr_prefetch_k", None)
        prefetch_factor = kwargs.pop("mmr_prefetch_factor", None)
        _no_extra(kwargs, method)
        mode = VectorStoreQueryMode(query.mode)
        if mode not in _QUERY_MODES:
            raise InvalidInput(f"query mode {mode.value!r} is not supported by AgentMemVectorStore: "
                               f"use {', '.join(repr(m.value) for m in _QUERY_MODES)}")
        where = _and(to_agentmem_filter(query.filters) if query.filters is not None else None,
                     {"id": {"$in": list(query.node_ids)}} if query.node_ids else None,
                     {"ref_doc_id": {"$in": list(query.doc_ids)}} if query.doc_ids else None)
        args: dict[str, Any] = {**self._scope(), "filter": where, "k": query.similarity_top_k}
        text = query.query_str
        if mode in (VectorStoreQueryMode.TEXT_SEARCH, VectorStoreQueryMode.HYBRID):
            if not text or not text.strip():
                raise InvalidInput(f"query mode {mode.value!r} needs a query_str")
            if mode == VectorStoreQueryMode.TEXT_SEARCH:
                args["k"] = query.sparse_top_k or query.similarity_top_k
                return "search_text", {"query": text, **args}
            alpha = 0.5 if query.alpha is None else query.alpha
            if not 0.0 <= alpha <= 1.0:
                raise InvalidInput(f"alpha must be in [0, 1] (1 is dense only), got {alpha!r}")
            args["k"] = query.hybrid_top_k or query.similarity_top_k
            args["lexical_weight"] = 1.0 - alpha
            if query.query_embedding is not None:  # the index's own embedding of the query
                return "recall_by_vector", {"vector": query.query_embedding,
                                            "lexical_query": text, **args}
            return "recall", {"query": text, **args}
        args["lexical_weight"] = 0.0  # DEFAULT and MMR modes are dense, as LlamaIndex means them
        if mode == VectorStoreQueryMode.MMR:
            lambda_mult = query.mmr_threshold if query.mmr_threshold is not None else mmr_threshold
            if prefetch_k is not None and prefetch_factor is not None:
                raise InvalidInput("give mmr_prefetch_k or mmr_prefetch_factor, not both")
            fetch_k = prefetch_k if prefetch_k is not None else \
                max(args["k"], math.ceil((prefetch_factor or 4.0) * args["k"]))
            args["mmr"] = MMR(fetch_k=fetch_k,
                              lambda_mult=0.5 if lambda_mult is None else lambda_mult)
        if query.query_embedding is not None:
            return "recall_by_vector", {"vector": query.query_embedding, **args}
        if not text or not text.strip():
            raise InvalidInput("a query needs a query_embedding or a query_str")
        return "recall", {"query": text, **args}

    def query(self, query: VectorStoreQuery, **kwargs: Any) -> VectorStoreQueryResult:
        """The closest nodes of this store, best first, as LlamaIndex asks for them."""
        name, args = self._plan(query, kwargs, "query")
        if name == "search_text":
            return _result(self._memory.search_text(args.pop("query"), **args))
        if name == "recall_by_vector":
            return _result(self._memory.recall_by_vector(args.pop("vector"), **args))
        return _result(self._memory.recall(args.pop("query"), **args))

    async def aquery(self, query: VectorStoreQuery, **kwargs: Any) -> VectorStoreQueryResult:
        name, args = self._plan(query, kwargs, "aquery")
        if name == "search_text":
            return _result(await self._memory.asearch_text(args.pop("query"), **args))
        if name == "recall_by_vector":
            return _result(await self._memory.arecall_by_vector(args.pop("vector"), **args))
        return _result(await self._memory.arecall(args.pop("query"), **args))
