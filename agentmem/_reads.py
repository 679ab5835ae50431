"""The reading part of :class:`~agentmem.HybridMemory`: recall, lexical search, get, list.

Recall validates its scope, consults the session cache (when there is one), embeds the
query and runs :func:`~agentmem.retrieval.run_recall`; under ``refresh_on_access`` every
memory read has its TTL restarted.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from . import _validate as check
from ._part import FacadePart
from ._twins import on_loop, sync_twin
from ._validate import MemoryTypes
from .backends.base import ExpiryControl, LexicalSearch, Vector
from .cache import text_key, vector_key
from .errors import ConfigError, InvalidInput, NotFound
from .models import Memory, MemoryHit, as_agent_id, as_name, utcnow
from .retrieval import MMR, RecallRequest, run_recall
from .retrieval.pipeline import lexical_weight_for

__all__ = ["Reads"]


class Reads(FacadePart):
    """Every way to read an agent's memories back."""

    async def _recall(self, query: str | None, vector: Vector | None, agent_id: str,
                      memory_types: MemoryTypes, k: int, filter: Mapping[str, Any] | None,
                      mmr: MMR | None, lexical_weight: float | None,
                      lexical_query: str | None, expand_related: bool) -> list[MemoryHit]:
        agent, types, where = check.scope(agent_id, memory_types, filter)
        if lexical_query is not None:
            check.query_text(lexical_query, "lexical_query")
        k, lexical_query = check.top_k(k), lexical_query or query
        if lexical_weight is not None:
            lexical_weight = check.weight(lexical_weight, "lexical_weight")
            if lexical_weight and not lexical_query:
                raise InvalidInput("lexical_weight needs a query text: give lexical_query, "
                                   "or lexical_weight=0 for a dense recall")
        lexical_weight = lexical_weight_for(self.backend, self.retrieval, lexical_weight,
                                            lexical_query)
        if vector is None:
            checked = check.query_text(query, "recall")
            text: str | None = checked
            probe = text_key(checked)
        else:
            text, probe = None, vector_key(check.query_vector(vector, self.embedder))
        recalls = self.cache
        if recalls is not None and self.retention is not None and self.retention.refresh_on_access:
            recalls = None  # every recall restarts TTLs: it must reach the store
        key: tuple[Any, ...] = ()
        generation = (0, 0)
        if recalls is not None:
            lexical = None if lexical_query is None else text_key(lexical_query)
            key = (probe, tuple(types), repr(where), mmr, lexical, lexical_weight, k,
                   expand_related, self.retrieval, self.embedder.model_id)
            generation = recalls.generation(agent)  # before anything is read
            cached = recalls.recall(key, agent)
            if cached is not None:
                return cached
        if vector is None:
            assert text is not None
            vector = (await self.embedder.aembed_query(text) if self.cache is None
                      else await self.cache.query(self.embedder, text))
            check.query_vector(vector, self.embedder)
        await self._ensure_ready()
        hits = await run_recall(self.backend, RecallRequest(
            agent, vector, k, types, where, mmr, lexical_query, lexical_weight, self.retrieval,
            expand_related))
        fresh = await self._accessed(agent, [h.memory for h in hits])
        hits = [h if h.memory is m else h.model_copy(update={"memory": m})
                for h, m in zip(hits, fresh, strict=True)]
        if recalls is not None:
            recalls.store_recall(key, agent, generation, hits, utcnow())
        return hits

    async def _accessed(self, agent_id: str, memories: list[Memory]) -> list[Memory]:
        """``memories`` as read; under ``refresh_on_access``, with their TTL restarted."""
        policy = self.retention
        if policy is None or not policy.refresh_on_access or not memories:
            return memories
        if not isinstance(self.backend, ExpiryControl):
            raise ConfigError(f"the {self.mode} backend cannot refresh expiry: use a "
                              "RetentionPolicy with refresh_on_access=False")
        new: dict[str, datetime] = {}
        for until, ids in policy.refreshed(memories, utcnow()).items():
            await self.backend.set_expiry(agent_id, ids, until)
            new.update(dict.fromkeys(ids, until))
        return [m.model_copy(update={"expires_at": new[m.id]}) if m.id in new else m
                for m in memories]

    @on_loop
    async def arecall(self, query: str, agent_id: str, *, memory_types: MemoryTypes = None,
                      k: int = 5, filter: Mapping[str, Any] | None = None,
                      mmr: MMR | None = None, lexical_weight: float | None = None,
                      expand_related: bool = False) -> list[MemoryHit]:
        """The ``k`` memories of ``agent_id`` most relevant to ``query``, best first.

        By default dense and lexical (:meth:`search_text`) results are fused and re-scored
        by session context (see :mod:`agentmem.retrieval` and :class:`RetrievalConfig`);
        each hit's score is then that one, in [0, 1], descending. ``lexical_weight=0`` is
        dense only (scores are cosine similarities). With ``mmr``, the ``fetch_k`` best of
        that ranking are re-ranked for diversity (maximal marginal relevance: relevance is
        their score, redundancy the cosine between their stored vectors); each hit keeps its
        score, so scores then follow MMR's order, not descending. With ``expand_related``
        each hit's ``related`` lists the memories one link away.
        """
        return await self._recall(query, None, agent_id, memory_types, k, filter, mmr,
                                  lexical_weight, None, expand_related)

    recall = sync_twin(arecall)

    @on_loop
    async def arecall_by_vector(self, vector: Vector, agent_id: str, *,
                                memory_types: MemoryTypes = None, k: int = 5,
                                filter: Mapping[str, Any] | None = None, mmr: MMR | None = None,
                                lexical_query: str | None = None,
                                lexical_weight: float | None = None,
                                expand_related: bool = False) -> list[MemoryHit]:
        """Like :meth:`recall` with a ready query vector: dense only, unless
        ``lexical_query`` gives words to fuse with."""
        return await self._recall(None, vector, agent_id, memory_types, k, filter, mmr,
                                  lexical_weight, lexical_query, expand_related)

    recall_by_vector = sync_twin(arecall_by_vector)

    @on_loop
    async def asearch_text(self, query: str, agent_id: str, *, memory_types: MemoryTypes = None,
                           k: int = 5, filter: Mapping[str, Any] | None = None
                           ) -> list[MemoryHit]:
        """Lexical search: memories sharing words with ``query``, best first (scores in [0, 1))."""
        agent, types, where = check.scope(agent_id, memory_types, filter)
        k, text = check.top_k(k), check.query_text(query, "search_text")
        if not isinstance(self.backend, LexicalSearch):
            raise ConfigError(f"the {self.mode} backend has no lexical search")
        await self._ensure_ready()
        return await self.backend.search_text(agent, text, k=k, memory_types=types, where=where)

    search_text = sync_twin(asearch_text)

    async def _get(self, ids: Sequence[str] | str, agent_id: str) -> list[Memory]:
        agent, id_list = as_agent_id(agent_id), check.ids(ids)
        await self._ensure_ready()
        return await self.backend.get(agent, id_list)

    @on_loop
    async def aget(self, id: str, agent_id: str) -> Memory:
        """One memory by id; NotFound if this agent has no such memory."""
        found = await self._get([as_name(id, "id")], agent_id)
        if not found:
            raise NotFound(f"no memory {id!r} for agent {agent_id!r}")
        return (await self._accessed(agent_id, found))[0]

    get = sync_twin(aget)

    @on_loop
    async def aget_many(self, ids: Sequence[str] | str, agent_id: str) -> list[Memory]:
        """Memories by id in the order asked; ids this agent lacks are left out (a bare
        string is one id)."""
        return await self._accessed(agent_id, await self._get(ids, agent_id))

    get_many = sync_twin(aget_many)

    @on_loop
    async def amemories(self, agent_id: str, *, memory_types: MemoryTypes = None,
                        filter: Mapping[str, Any] | None = None, limit: int | None = None,
                        offset: int = 0) -> list[Memory]:
        """List an agent's memories, oldest first."""
        agent, types, where = check.scope(agent_id, memory_types, filter)
        limit, offset = check.limit(limit, allow_zero=True), check.offset(offset)
        await self._ensure_ready()
        return await self.backend.list_memories(agent, memory_types=types, where=where,
                                                limit=limit, offset=offset)

    memories = sync_twin(amemories)
