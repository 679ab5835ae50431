"""Consolidation: recurring episodes become one semantic memory, with provenance.

Recent episodic memories of an agent are grouped by embedding similarity (each joins the
group whose centroid it is closest to, if within ``similarity``; else it starts one, in
time order). Each group of at least ``min_group`` becomes one semantic memory written by
a :class:`Summarizer` (extractive by default, an LLM optionally), whose ``source_ids``
name the group and which is linked ``derived_from`` to each source where the store keeps
links. The sources are marked ``consolidated_into`` (and lowered or set to expire, by
policy), so a second run skips them. The new memory's id is derived from its sources:
a run interrupted between writing it and marking them repeats the same id, never a copy.
"""

from __future__ import annotations

import hashlib
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Literal, Protocol

import numpy as np

from ..backends._vectors import unit_rows
from ..backends.base import Backend, LinkStore, Vectors, VectorScan
from ..errors import ConfigError, InvalidInput
from ..models import Memory, MemoryLink, MemoryType, utcnow
from .llm import Completion, as_completion, complete

__all__ = ["CONSOLIDATE_PROMPT", "ConsolidationPolicy", "ConsolidationReport",
           "ExtractiveSummarizer", "LLMSummarizer", "Summarizer", "consolidate", "group"]

MARK = "consolidated_into"  # metadata key set on every source of a consolidated memory

Writer = Callable[[list[Memory], Vectors | None], Awaitable[list[Memory]]]


@dataclass(frozen=True)
class ConsolidationPolicy:
    """Which memories form a group, and what becomes of the sources.

    ``sources``: ``keep`` (only marked), ``lower`` (importance times ``importance_factor``)
    or ``expire`` (expire ``expire_after`` from now, unless they expire sooner anyway).
    ``since``: only episodes created this recently (None: all).
    """

    min_group: int = 3
    similarity: float = 0.75
    since: timedelta | None = timedelta(days=30)
    sources: Literal["keep", "lower", "expire"] = "lower"
    importance_factor: float = 0.5
    expire_after: timedelta = timedelta(days=7)

    def __post_init__(self) -> None:
        if isinstance(self.min_group, bool) or not isinstance(self.min_group, int) \
                or self.min_group < 2:
            raise ConfigError(f"min_group must be an int >= 2, got {self.min_group!r}")
        if not -1.0 <= self.similarity <= 1.0:
            raise ConfigError(f"similarity must be a cosine in [-1, 1], got {self.similarity!r}")
        if self.sources not in ("keep", "lower", "expire"):
            raise ConfigError(f"sources must be 'keep', 'lower' or 'expire', got {self.sources!r}")
        if not 0.0 <= self.importance_factor <= 1.0:
            raise ConfigError(f"importance_factor must be in [0, 1], got {self.importance_factor!r}")
        if self.expire_after < timedelta(0) or (self.since is not None
                                                 and self.since <= timedelta(0)):
            raise ConfigError("since must be positive and expire_after not negative")


class Summarizer(Protocol):
    """Writes the text of one consolidated memory from its group (vectors unit-length)."""

    async def asummarize(self, memories: Sequence[Memory], vectors: np.ndarray) -> str: ...


class ExtractiveSummarizer:
    """The no-model default: the ``max_texts`` members nearest the group's centroid, in
    time order, joined; what the group keeps saying, in its own words."""

    def __init__(self, max_texts: int = 3) -> None:
        if isinstance(max_texts, bool) or not isinstance(max_texts, int) or max_texts < 1:
            raise InvalidInput(f"max_texts must be a positive int, got {max_texts!r}")
        self.max_texts = max_texts

    async def asummarize(self, memories: Sequence[Memory], vectors: np.ndarray) -> str:
        centroid = vectors.mean(axis=0)
        nearest = sorted(np.argsort(-(vectors @ centroid), kind="stable")[:self.max_texts])
        return " ".join(_sentence(memories[i].content) for i in nearest)


def _sentence(text: str) -> str:
    text = " ".join(text.split())
    return text if text[-1] in ".!?" else text + "."


CONSOLIDATE_PROMPT = """\
The memories below are related episodes from an assistant's history. Write one short, \
self-contained statement (one to three sentences, third person) of what they have in \
common: the lasting fact, preference or pattern. No preamble, no list.

{memories}
"""
"""The default LLMSummarizer prompt; ``{memories}`` is replaced by one line per memory."""


class LLMSummarizer:
    """Asks an LLM (any :class:`~agentmem.lifecycle.llm.Completion`) to state the pattern."""

    def __init__(self, completion: Completion, prompt: str = CONSOLIDATE_PROMPT) -> None:
        if "{memories}" not in prompt:
            raise InvalidInput("the consolidation prompt needs a {memories} placeholder")
        self.completion = as_completion(completion, "LLMSummarizer")
        self.prompt = prompt

    async def asummarize(self, memories: Sequence[Memory], vectors: np.ndarray) -> str:
        lines = "\n".join(f"- {m.content}" for m in memories)
        text = (await complete(self.completion, self.prompt.replace("{memories}", lines))).strip()
        if not text:
            raise InvalidInput("the LLM summarizer returned empty text: check the model and "
                               "the prompt")
        return text


@dataclass
class ConsolidationReport:
    """What a run found and did (or, with ``dry_run``, would do)."""

    agent_id: str
    considered: int = 0  # episodes eligible for grouping
    groups: int = 0  # groups of at least min_group
    created: list[str] = field(default_factory=list)  # ids of new consolidated memories
    repaired: int = 0  # groups whose memory existed already (an interrupted run's)
    sources: int = 0  # episodes marked as consolidated
    dry_run: bool = False


def group(vectors: np.ndarray, similarity: float) -> list[list[int]]:
    """Greedy centroid clustering of unit vectors, in the order given; groups of indices."""
    members: list[list[int]] = []
    sums = np.zeros((0, vectors.shape[1]), dtype=np.float64)
    for i, v in enumerate(vectors):
        if members:
            sims = unit_rows(sums) @ v
            best = int(np.argmax(sims))
            if sims[best] >= similarity:
                members[best].append(i)
                sums[best] += v
                continue
        members.append([i])
        sums = np.vstack([sums, v])
    return members


def consolidated_id(agent_id: str, source_ids: Sequence[str]) -> str:
    """The id of the memory consolidating ``source_ids``: the same for the same sources."""
    digest = hashlib.sha256("\x00".join([agent_id, *sorted(source_ids)]).encode()).hexdigest()
    return f"consolidated-{digest[:32]}"


async def _episodes(backend: VectorScan, agent_id: str, policy: ConsolidationPolicy
                    ) -> tuple[list[Memory], np.ndarray, np.ndarray]:
    """The eligible episodes in time order, their stored vectors and those made unit-length."""
    now = utcnow()
    since = None if policy.since is None else now - policy.since
    kept: list[Memory] = []
    rows: list[list[float]] = []
    async for memories, vectors in backend.scan(agent_id):
        for m, v in zip(memories, vectors, strict=True):
            if (m.memory_type is MemoryType.EPISODIC and MARK not in m.metadata
                    and m.alive_at(now)
                    and (since is None or m.created_at >= since)):
                kept.append(m)
                rows.append(v)
    if not kept:
        return [], np.zeros((0, 0), dtype=np.float32), np.zeros((0, 0))
    order = sorted(range(len(kept)), key=lambda i: (kept[i].created_at, kept[i].id))
    stored = np.asarray([rows[i] for i in order], dtype=np.float32)
    return [kept[i] for i in order], stored, unit_rows(stored.astype(np.float64))


def _retired(source: Memory, into: str, policy: ConsolidationPolicy) -> Memory:
    """``source`` marked as consolidated into ``into``, lowered or expiring by policy."""
    now = utcnow()
    changes: dict[str, object] = {"metadata": {**source.metadata, MARK: into}, "updated_at": now}
    if policy.sources == "lower":
        changes["importance"] = source.importance * policy.importance_factor
    elif policy.sources == "expire":
        until = now + policy.expire_after
        if source.expires_at is None or source.expires_at > until:
            changes["expires_at"] = until
    return source.model_copy(update=changes)


async def consolidate(backend: Backend, write: Writer, agent_id: str, *,
                      policy: ConsolidationPolicy, summarizer: Summarizer,
                      dry_run: bool = False,
                      progress: Callable[[int, int], None] | None = None) -> ConsolidationReport:
    """Consolidate one agent's recent episodes; ``write`` stores memories (embedding those
    given without vectors). ``progress(done, total)`` is called after each group."""
    if not isinstance(backend, VectorScan):
        raise ConfigError(f"{type(backend).__name__} cannot list memories with their vectors, "
                          "which consolidation groups by")
    episodes, stored, vectors = await _episodes(backend, agent_id, policy)
    report = ConsolidationReport(agent_id, considered=len(episodes), dry_run=dry_run)
    chosen = [g for g in group(vectors, policy.similarity) if len(g) >= policy.min_group]
    report.groups = len(chosen)
    for done, members in enumerate(chosen, start=1):
        sources = [episodes[i] for i in members]
        new_id = consolidated_id(agent_id, [m.id for m in sources])
        report.sources += len(sources)
        if not dry_run:
            if await backend.get(agent_id, [new_id]):
                report.repaired += 1
            else:
                await _write_group(backend, write, agent_id, new_id, sources,
                                   vectors[members], summarizer)
                report.created.append(new_id)
            await write([_retired(m, new_id, policy) for m in sources], stored[members])
        if progress is not None:
            progress(done, len(chosen))
    return report


async def _write_group(backend: Backend, write: Writer, agent_id: str, new_id: str,
                       sources: list[Memory], vectors: np.ndarray,
                       summarizer: Summarizer) -> None:
    text = await summarizer.asummarize(sources, vectors)
    users = {m.user_id for m in sources}
    [summary] = await write([Memory(
        id=new_id, content=text, agent_id=agent_id, memory_type=MemoryType.SEMANTIC,
        importance=max(m.importance for m in sources), user_id=users.pop() if len(users) == 1 else None,
        source_ids=[m.id for m in sources],
        metadata={"consolidated": True, "source_count": len(sources)})], None)
    if isinstance(backend, LinkStore):
        await backend.link(agent_id, [MemoryLink(source_id=summary.id, target_id=m.id,
                                                 relation="derived_from") for m in sources])
