"""``AgentMemRetriever``: agentmem's recall as a LangChain retriever."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from enum import Enum
from typing import Any

from langchain_core.callbacks import (
    AsyncCallbackManagerForRetrieverRun,
    CallbackManagerForRetrieverRun,
)
from langchain_core.documents import Document
from langchain_core.retrievers import BaseRetriever
from pydantic import Field, field_validator

from agentmem import MMR, HybridMemory, MemoryHit, MemoryType
from agentmem.filters import parse_filter
from agentmem.models import AgentId

__all__ = ["AgentMemRetriever"]

log = logging.getLogger("langchain_agentmem")


class _Unset(Enum):
    UNSET = "unset"


_UNSET = _Unset.UNSET


class AgentMemRetriever(BaseRetriever):
    """Recall an agent's memories for a query, as LangChain ``Document`` objects.

    Every setting can be overridden for one call: ``retriever.invoke(query, k=2,
    filter={"topic": "ml"}, memory_types=["semantic"], mmr=MMR(fetch_k=30))``; pass
    ``filter=None`` / ``mmr=None`` / ``memory_types=None`` to drop the retriever's own.

    Each document carries ``id`` (the memory id), ``page_content`` and the memory's
    ``metadata``, plus the recall score (higher is closer: the fused score in [0, 1] of
    agentmem's default recall, or the cosine similarity with ``lexical_weight=0``) under
    ``metadata[score_key]``, ``"score"`` by default; ``score_key=None`` leaves it out. A
    memory whose own metadata already holds that key keeps its value (a warning is
    logged): stored metadata is never overwritten.
    """

    memory: HybridMemory
    agent_id: AgentId
    memory_types: Sequence[MemoryType | str] | MemoryType | str | None = None
    """The memory types to search (kept as a list of ``MemoryType``); None for all of them."""
    k: int = Field(default=4, ge=1, le=10_000)
    filter: dict[str, Any] | None = None
    """A filter in agentmem's language (``{"topic": "ml"}``, ``{"importance": {"$gte": .7}}``)."""
    mmr: MMR | None = None
    """Re-rank the recall's ``mmr.fetch_k`` best candidates for diversity (maximal marginal
    relevance); fused like the recall unless ``lexical_weight`` is 0."""
    lexical_weight: float | None = Field(default=None, ge=0.0, le=1.0)
    """The BM25 share of the fused recall; ``None`` is agentmem's default, 0 dense only."""
    score_key: str | None = "score"

    @field_validator("memory_types")
    @classmethod
    def _types(cls, v: Sequence[MemoryType | str] | MemoryType | str | None
               ) -> list[MemoryType] | None:
        if v is None:
            return None
        out = [MemoryType(t) for t in ([v] if isinstance(v, str) else v)]
        if not out:
            raise ValueError("memory_types must name at least one type (None for all)")
        return out

    @field_validator("filter")
    @classmethod
    def _filter(cls, v: dict[str, Any] | None) -> dict[str, Any] | None:
        parse_filter(v)  # refuse a bad filter now rather than at the first query
        return v

    def _recall_args(self, k: int | None, filter: Mapping[str, Any] | None | _Unset,
                     memory_types: Any, mmr: MMR | None | _Unset,
                     kwargs: Mapping[str, Any]) -> dict[str, Any]:
        unknown = set(kwargs) - {"verbose", "lexical_weight"}  # invoke() passes verbose= on to us too
        if unknown:
            raise TypeError(f"AgentMemRetriever got unexpected arguments: "
                            f"{', '.join(sorted(unknown))}")
        return {
            "agent_id": self.agent_id,
            "k": self.k if k is None else k,
            "filter": self.filter if filter is _UNSET else filter,
            "memory_types": self.memory_types if memory_types is _UNSET else memory_types,
            "mmr": self.mmr if mmr is _UNSET else mmr,
            "lexical_weight": kwargs.get("lexical_weight", self.lexical_weight),
        }

    def _documents(self, hits: Sequence[MemoryHit]) -> list[Document]:
        out = []
        for hit in hits:
            metadata = dict(hit.memory.metadata)
            if self.score_key is not None:
                if self.score_key in metadata:
                    log.warning("memory %r has its own metadata[%r]: the recall score is not "
                                "added (set score_key to another name)", hit.memory.id,
                                self.score_key)
                else:
                    metadata[self.score_key] = hit.score
            out.append(Document(id=hit.memory.id, page_content=hit.memory.content,
                                metadata=metadata))
        return out

    def _get_relevant_documents(
        self, query: str, *, run_manager: CallbackManagerForRetrieverRun, k: int | None = None,
        filter: Mapping[str, Any] | None | _Unset = _UNSET, memory_types: Any = _UNSET,
        mmr: MMR | None | _Unset = _UNSET, **kwargs: Any,
    ) -> list[Document]:
        args = self._recall_args(k, filter, memory_types, mmr, kwargs)
        return self._documents(self.memory.recall(query, **args))

    async def _aget_relevant_documents(
        self, query: str, *, run_manager: AsyncCallbackManagerForRetrieverRun,
        k: int | None = None, filter: Mapping[str, Any] | None | _Unset = _UNSET,
        memory_types: Any = _UNSET, mmr: MMR | None | _Unset = _UNSET, **kwargs: Any,
    ) -> list[Document]:
        args = self._recall_args(k, filter, memory_types, mmr, kwargs)
        return self._documents(await self.memory.arecall(query, **args))

