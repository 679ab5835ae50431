"""The recall procedure: nearest neighbours, fusion with lexical hits, then MMR if asked.

A fused recall takes :data:`~agentmem.retrieval.fusion.FUSION_DEPTH` candidates from each
search, blends their scores (:mod:`.fusion`), re-scores them by context, recency and
importance (:mod:`.signals`) and keeps the best ``k``. A dense-only recall returns cosine
similarities as the backend ranks them. With MMR, the ``fetch_k`` best of either ranking
are re-ranked for diversity (:mod:`.mmr`): relevance is their score in that ranking,
redundancy the cosine between their stored vectors; each hit keeps that score.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..backends.base import Backend, LexicalSearch, LinkStore, Vector
from ..errors import BackendError, ConfigError
from ..filters import FilterNode
from ..models import MemoryHit, MemoryType, RelatedMemory, utcnow
from .config import RetrievalConfig
from .fusion import FUSION_DEPTH, fuse_scores
from .mmr import MMR, mmr_select
from .signals import rescore

__all__ = ["RecallRequest", "lexical_weight_for", "run_recall"]


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
    config: RetrievalConfig = field(default_factory=RetrievalConfig)
    expand_related: bool = False

    @property
    def fused(self) -> bool:
        return bool(self.lexical_weight and self.lexical_query)

    @property
    def fetch(self) -> int:
        """How many candidates to ask each search for."""
        depth = max(self.k, FUSION_DEPTH) if self.fused else self.k
        return max(depth, self.pool)

    @property
    def pool(self) -> int:
        """How many of the best candidates MMR chooses among (``k`` without MMR)."""
        return self.k if self.mmr is None else max(self.k, self.mmr.fetch_k)


def lexical_weight_for(backend: Backend, config: RetrievalConfig, asked: float | None,
                       text: str | None) -> float:
    """The weight a recall uses: the one asked for, else the configured one where it applies."""
    if asked is not None:
        return asked
    if text and isinstance(backend, LexicalSearch):
        return config.lexical_weight
    return 0.0


async def _fuse(backend: Backend, req: RecallRequest, hits: list[MemoryHit]) -> list[MemoryHit]:
    """Every dense and lexical candidate with its fused, re-scored score, best first."""
    if not isinstance(backend, LexicalSearch):
        raise ConfigError(f"{type(backend).__name__} has no lexical search: recall with "
                          "lexical_weight=0")
    assert req.lexical_query is not None
    lexical = await backend.search_text(req.agent_id, req.lexical_query, k=req.fetch,
                                        memory_types=req.memory_types, where=req.where,
                                        with_vectors=req.mmr is not None)
    by_id = {h.memory.id: h for h in [*lexical, *hits]}
    fused = fuse_scores([(h.memory.id, h.score) for h in hits],
                        [(h.memory.id, h.score) for h in lexical], req.lexical_weight)
    memories = [by_id[key].memory for key, _ in fused]
    scores = rescore(memories, [s for _, s in fused], req.config, utcnow())
    ranked = sorted(zip(memories, scores, strict=True), key=lambda ms: (-ms[1], ms[0].id))
    return [by_id[m.id].model_copy(update={"score": s}) for m, s in ranked]


def _diverse(backend: Backend, mmr: MMR, k: int, pool: list[MemoryHit]) -> list[MemoryHit]:
    """``k`` of ``pool`` chosen by MMR over their scores and vectors, vectors dropped."""
    vectors = [h.vector for h in pool if h.vector is not None]
    if len(vectors) != len(pool):
        raise BackendError(f"{type(backend).__name__} returned hits without their vectors, "
                           "which MMR needs: implement with_vectors=True in query and "
                           "search_text, or recall without mmr")
    chosen = mmr_select([h.score for h in pool], vectors, k, mmr.lambda_mult)
    return [pool[i].model_copy(update={"vector": None}) for i in chosen]


async def run_recall(backend: Backend, req: RecallRequest) -> list[MemoryHit]:
    """The ``k`` best hits for ``req`` (with their related memories if asked)."""
    if req.expand_related and not isinstance(backend, LinkStore):
        raise ConfigError(f"{type(backend).__name__} stores no links: recall with "
                          "expand_related=False, or use pgvector or hybrid mode")
    hits = await _ranked(backend, req)
    if not req.expand_related or not hits:
        return hits
    assert isinstance(backend, LinkStore)
    around: dict[str, list[RelatedMemory]] = {}
    for found in await backend.related(req.agent_id, [h.memory.id for h in hits], depth=1):
        around.setdefault(found.via, []).append(found)  # one step away: via is the hit
    return [h.model_copy(update={"related": around.get(h.memory.id, [])}) for h in hits]


async def _ranked(backend: Backend, req: RecallRequest) -> list[MemoryHit]:
    """The ``k`` best hits, best first (in MMR's order with ``mmr``)."""
    hits = await backend.query(req.agent_id, req.vector, k=req.fetch,
                               memory_types=req.memory_types, where=req.where,
                               with_vectors=req.mmr is not None)
    ranked = await _fuse(backend, req, hits) if req.fused else hits
    if req.mmr is None:
        return ranked[:req.k]
    return _diverse(backend, req.mmr, req.k, ranked[:req.pool])
