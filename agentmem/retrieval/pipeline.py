"""The recall procedure: nearest neighbours, then fusion with lexical hits or MMR."""

from __future__ import annotations

from dataclasses import dataclass

from ..backends.base import Backend, LexicalSearch, Vector
from ..errors import ConfigError
from ..filters import FilterNode
from ..models import MemoryHit, MemoryType
from .fusion import fuse_ranks
from .mmr import MMR, mmr_select

__all__ = ["RecallRequest", "run_recall"]


@dataclass(frozen=True)
class RecallRequest:
    """One validated recall: what the facade hands to the pipeline."""

    agent_id: str
    vector: Vector
    k: int
    memory_types: list[MemoryType]
    where: FilterNode | None = None
    mmr: MMR | None = None
    lexical_query: str | None = None
    lexical_weight: float = 0.0

    @property
    def fetch(self) -> int:
        """How many nearest neighbours to ask the backend for."""
        if self.mmr is not None:
            return max(self.k, self.mmr.fetch_k)
        return 2 * self.k if self.lexical_weight else self.k


async def run_recall(backend: Backend, req: RecallRequest) -> list[MemoryHit]:
    """The ``k`` best hits for ``req``, best first."""
    hits = await backend.query(req.agent_id, req.vector, k=req.fetch,
                               memory_types=req.memory_types, where=req.where,
                               with_vectors=req.mmr is not None)
    if req.lexical_weight and req.lexical_query:
        if not isinstance(backend, LexicalSearch):
            raise ConfigError(f"{type(backend).__name__} has no lexical search: recall with "
                              "lexical_weight=0")
        lexical = await backend.search_text(req.agent_id, req.lexical_query, k=req.fetch,
                                            memory_types=req.memory_types, where=req.where)
        by_id = {h.memory.id: h for h in [*lexical, *hits]}
        order = fuse_ranks([h.memory.id for h in hits], [h.memory.id for h in lexical],
                           req.lexical_weight)
        return [by_id[i] for i in order[:req.k]]
    if req.mmr is None:
        return hits
    chosen = mmr_select(req.vector, [h.vector or [] for h in hits], req.k, req.mmr.lambda_mult)
    return [hits[i].model_copy(update={"vector": None}) for i in chosen]
