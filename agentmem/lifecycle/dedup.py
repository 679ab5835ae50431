"""Near-duplicate merging on write (off unless ``HybridMemory(dedup_threshold=...)``).

A memory whose embedding is within ``threshold`` cosine of an existing memory of the same
agent and type (stored, or earlier in the same batch) is not stored again: the existing
one absorbs it. It keeps its own text and vector, takes the higher importance, the later
expiry, the union of source ids and the new metadata over its own, and is returned in
place of the duplicate. Costs one nearest-neighbour query per memory written.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import numpy as np

from ..backends._vectors import unit_rows
from ..backends.base import Backend
from ..models import Memory, utcnow

__all__ = ["merge_duplicates"]


def _later(a: datetime | None, b: datetime | None) -> datetime | None:
    return None if a is None or b is None else max(a, b)


def _absorb(kept: Memory, dup: Memory) -> Memory:
    """``kept`` after taking in ``dup``."""
    return kept.model_copy(update={
        "importance": max(kept.importance, dup.importance),
        "metadata": {**kept.metadata, **dup.metadata},
        "expires_at": _later(kept.expires_at, dup.expires_at),
        "source_ids": list(dict.fromkeys([*kept.source_ids, *dup.source_ids])),
        "updated_at": utcnow()})


async def merge_duplicates(backend: Backend, memories: Sequence[Memory], vectors: np.ndarray,
                           threshold: float) -> tuple[list[Memory], np.ndarray, list[Memory]]:
    """(memories to write, their vectors, what each input became), in input order."""
    out: list[Memory] = []
    out_vectors: list[np.ndarray] = []
    out_units: list[np.ndarray] = []  # out_vectors at unit length, for the batch comparison
    became: list[Memory] = []
    for memory, vector in zip(memories, vectors, strict=True):
        unit = unit_rows(np.asarray(vector, dtype=np.float64))
        # the best earlier memory of this batch, then the best stored one
        best, best_score = -1, threshold
        for j, (other, u) in enumerate(zip(out, out_units, strict=True)):
            score = float(u @ unit)
            if (other.agent_id, other.memory_type) == (memory.agent_id, memory.memory_type) \
                    and other.id != memory.id and score >= best_score:
                best, best_score = j, score
        hits = await backend.query(memory.agent_id, vector, k=2, memory_types=[memory.memory_type],
                                   with_vectors=True)
        stored = next((h for h in hits if h.memory.id != memory.id
                       and h.memory.id not in {m.id for m in out}), None)
        if stored is not None and stored.score >= best_score and stored.vector is not None:
            merged = _absorb(stored.memory, memory)
            out.append(merged)
            out_vectors.append(np.asarray(stored.vector, dtype=np.float32))
            out_units.append(unit_rows(np.asarray(stored.vector, dtype=np.float64)))
            became.append(merged)
        elif best >= 0:
            out[best] = _absorb(out[best], memory)
            became = [out[best] if b.id == out[best].id else b for b in became]
            became.append(out[best])
        else:
            out.append(memory)
            out_vectors.append(np.asarray(vector, dtype=np.float32))
            out_units.append(unit)
            became.append(memory)
    return out, np.stack(out_vectors) if out_vectors else vectors[:0], became
