"""Memory tools for agents, defined once: argument schemas and what each tool does.

The pydantic models here are the JSON schemas a model fills in (their field descriptions
are what it reads); the coroutines run one tool on a :class:`HybridMemory` for one bound
agent and answer JSON-able dicts. The MCP server (:mod:`agentmem.mcp`) serves every tool
of :data:`TOOLS`; the LangChain tools (``langchain_agentmem.tools``) use
:class:`RememberInput` and :class:`RecallInput`, the narrower forms for an agent whose
toolset fixes metadata and user scope itself. No framework is imported here.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from . import _validate as check
from .memory import HybridMemory
from .models import Memory

__all__ = [
    "TOOLS",
    "ForgetArgs",
    "HistoryArgs",
    "ListArgs",
    "MemoryTool",
    "MemoryTypeName",
    "RecallArgs",
    "RecallInput",
    "RememberArgs",
    "RememberInput",
    "StatsArgs",
    "forget",
    "get_memory",
    "history",
    "list_memories",
    "parse_args",
    "recall",
    "remember",
    "stats",
]

MemoryTypeName = Literal["episodic", "semantic", "procedural"]

# One definition per argument: type, bounds and the description a model reads.
Content = Annotated[str, Field(min_length=1, description=(
    "The fact, event or instruction to keep, as one self-contained sentence."))]
KindToStore = Annotated[MemoryTypeName, Field(description=(
    "semantic: a fact (the user's name, a preference); episodic: something that happened; "
    "procedural: how to do something."))]
Importance = Annotated[float, Field(ge=0.0, le=1.0, description=(
    "How important this is, from 0 (trivial) to 1 (vital)."))]
Metadata = Annotated[dict[str, Any] | None, Field(description=(
    "Extra JSON fields to store with the memory (recall's filter can match them)."))]
Query = Annotated[str, Field(min_length=1, description="What to look for, in plain words.")]
TopK = Annotated[int, Field(ge=1, le=50, description="How many memories to return at most.")]
OneKind = Annotated[MemoryTypeName | None, Field(description=(
    "Only this kind of memory; omit to search all kinds."))]
Kinds = Annotated[list[MemoryTypeName] | None, Field(min_length=1, description=(
    "Only these kinds of memory; omit for all kinds."))]
Filter = Annotated[dict[str, Any] | None, Field(description=(
    'A metadata filter, e.g. {"topic": "ui"} or {"importance": {"$gte": 0.7}}; omit for none.'))]


_STRICT = ConfigDict(extra="forbid")  # an unknown argument is a mistake to report, not to drop


class RememberInput(BaseModel):
    """Arguments of ``remember`` for a toolset that fixes the metadata itself."""

    content: Content
    memory_type: KindToStore = "semantic"
    importance: Importance = 0.5


class RememberArgs(RememberInput):
    """Arguments of the ``remember`` tool."""

    model_config = _STRICT
    metadata: Metadata = None


class _RecallBase(BaseModel):
    query: Query
    k: TopK = 5


class RecallInput(_RecallBase):
    """Arguments of ``recall`` with at most one kind of memory (the LangChain tool)."""

    memory_type: OneKind = None


class RecallArgs(_RecallBase):
    """Arguments of the ``recall`` tool."""

    model_config = _STRICT
    memory_types: Kinds = None
    filter: Filter = None


class ForgetArgs(BaseModel):
    """Arguments of the ``forget`` tool."""

    model_config = _STRICT
    ids: list[Annotated[str, Field(min_length=1)]] = Field(
        min_length=1, max_length=1000,
        description="The ids of the memories to delete (as remember or recall gave them).")


class ListArgs(BaseModel):
    """Arguments of the ``list_memories`` tool."""

    model_config = _STRICT
    memory_types: Kinds = None
    limit: int = Field(default=50, ge=1, le=500, description="How many memories at most.")
    offset: int = Field(default=0, ge=0, description="How many to skip, oldest first.")


class HistoryArgs(BaseModel):
    """Arguments of the ``history`` tool."""

    model_config = _STRICT
    session_id: str = Field(min_length=1, description="The conversation whose turns to return.")
    limit: int | None = Field(default=None, ge=1, le=1000,
                              description="Only the last this many turns; omit for all.")


class StatsArgs(BaseModel):
    """The ``stats`` tool takes no arguments."""

    model_config = _STRICT


def _memory(m: Memory) -> dict[str, Any]:
    return m.model_dump(mode="json")


async def remember(memory: HybridMemory, agent_id: str, args: RememberArgs) -> dict[str, Any]:
    """Store one memory; answers it, with its id."""
    stored = await memory.aremember(args.content, agent_id, memory_type=args.memory_type,
                                    importance=args.importance, metadata=args.metadata)
    return _memory(stored)


async def recall(memory: HybridMemory, agent_id: str, args: RecallArgs) -> dict[str, Any]:
    """The closest memories, best first, each with its score."""
    hits = await memory.arecall(args.query, agent_id, k=args.k, memory_types=args.memory_types,
                                filter=args.filter)
    return {"hits": [{"score": h.score, "memory": _memory(h.memory)} for h in hits]}


async def forget(memory: HybridMemory, agent_id: str, args: ForgetArgs) -> dict[str, Any]:
    """Delete memories of this agent by id; answers how many went (others' ids count 0)."""
    return {"deleted": await memory.aforget(args.ids, agent_id)}


async def list_memories(memory: HybridMemory, agent_id: str, args: ListArgs) -> dict[str, Any]:
    """A page of the agent's memories, oldest first."""
    page = await memory.amemories(agent_id, memory_types=args.memory_types, limit=args.limit,
                                  offset=args.offset)
    return {"memories": [_memory(m) for m in page], "offset": args.offset}


async def history(memory: HybridMemory, agent_id: str, args: HistoryArgs) -> dict[str, Any]:
    """A conversation's turns, oldest first."""
    turns = await memory.ahistory(args.session_id, agent_id, limit=args.limit)
    return {"turns": [t.model_dump(mode="json") for t in turns]}


async def stats(memory: HybridMemory, agent_id: str, args: StatsArgs) -> dict[str, Any]:
    """Counts per memory type, turns and sessions."""
    return (await memory.astats(agent_id)).model_dump(mode="json")


async def get_memory(memory: HybridMemory, agent_id: str, memory_id: str) -> dict[str, Any]:
    """One memory of this agent by id (NotFound for an id it does not have)."""
    return _memory(await memory.aget(memory_id, agent_id))


Runner = Callable[[HybridMemory, str, Any], Awaitable[dict[str, Any]]]


@dataclass(frozen=True)
class MemoryTool:
    """A tool: its name, what a model is told it does, its arguments and its coroutine."""

    name: str
    description: str
    args: type[BaseModel]
    run: Runner
    read_only: bool


def parse_args(tool: MemoryTool, arguments: Mapping[str, Any] | None) -> BaseModel:
    """``arguments`` checked against ``tool``'s schema; InvalidInput saying what is wrong."""
    return check.build(tool.args, **dict(arguments or {}))


TOOLS: tuple[MemoryTool, ...] = (
    MemoryTool("remember", "Store something worth keeping across conversations in long-term "
               "memory: facts about the user or the world, events, or how to do things.",
               RememberArgs, remember, read_only=False),
    MemoryTool("recall", "Search long-term memory for what was remembered before; returns the "
               "closest memories, best first, with scores.", RecallArgs, recall, read_only=True),
    MemoryTool("forget", "Delete memories by id.", ForgetArgs, forget, read_only=False),
    MemoryTool("list_memories", "List stored memories, oldest first, a page at a time.",
               ListArgs, list_memories, read_only=True),
    MemoryTool("history", "The turns of one conversation, oldest first.", HistoryArgs, history,
               read_only=True),
    MemoryTool("stats", "How many memories of each kind, turns and sessions are stored.",
               StatsArgs, stats, read_only=True),
)
