"""LangChain tools that let a model remember and recall through agentmem.

``memory_tools(memory, agent_id="bot")`` returns two tools bound to one memory and one agent:

- ``remember(content, memory_type="semantic", importance=0.5)`` stores a memory;
- ``recall(query, k=5, memory_type=None)`` returns the closest memories as numbered lines.

Both run sync and async (``invoke`` / ``ainvoke``) and answer with short strings a model can
read. Invalid input (empty text, a score out of range) comes back to the model as the
tool's output instead of an exception, so it can correct itself; other agentmem errors (a
backend down) are raised, since the model cannot fix them and hiding them would make the
agent silently forget.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from langchain_core.tools import BaseTool, StructuredTool, ToolException

from agentmem import HybridMemory, InvalidInput, Memory, MemoryHit
from agentmem.models import as_agent_id
from agentmem.tools import MemoryTypeName, RecallInput, RememberInput

__all__ = ["RecallInput", "RememberInput", "memory_tools"]  # the schemas live in agentmem.tools


def _format_hits(hits: list[MemoryHit]) -> str:
    if not hits:
        return "No memories found."
    lines = [f"{i}. [{h.memory.memory_type.value}, score {h.score:.2f}] {h.memory.content}"
             for i, h in enumerate(hits, 1)]
    return "\n".join(lines)


def _remembered(memory: Memory) -> str:
    return f"Remembered ({memory.memory_type.value}, id {memory.id}): {memory.content}"


def memory_tools(
    memory: HybridMemory,
    *,
    agent_id: str,
    user_id: str | None = None,
    session_id: str | None = None,
    metadata: Mapping[str, Any] | None = None,
    max_k: int = 20,
) -> list[BaseTool]:
    """The ``remember`` and ``recall`` tools bound to ``memory`` and ``agent_id``.

    Args:
        memory: the agentmem store (borrowed: close it yourself).
        agent_id: the agent whose memories the tools write and read; other agents'
            memories are never seen.
        user_id: when set, stored on every memory and recall only returns this user's
            memories (one toolset per user of a shared agent).
        session_id: stored on every memory (recall is not limited to it).
        metadata: added to every memory the ``remember`` tool stores.
        max_k: the most memories one ``recall`` returns, whatever the model asks for.
    """
    as_agent_id(agent_id)
    if isinstance(max_k, bool) or not isinstance(max_k, int) or max_k < 1:
        raise InvalidInput(f"max_k must be a positive int, got {max_k!r}")
    extra = dict(metadata or {})
    where = None if user_id is None else {"user_id": user_id}

    def _fields(memory_type: str, importance: float) -> dict[str, Any]:
        return dict(memory_type=memory_type, importance=importance, metadata=extra,
                    user_id=user_id, session_id=session_id)

    def remember(content: str, memory_type: MemoryTypeName = "semantic",
                 importance: float = 0.5) -> str:
        try:
            return _remembered(memory.remember(content, agent_id,
                                               **_fields(memory_type, importance)))
        except InvalidInput as exc:
            raise ToolException(f"Not remembered: {exc}") from exc

    async def aremember(content: str, memory_type: MemoryTypeName = "semantic",
                        importance: float = 0.5) -> str:
        try:
            return _remembered(await memory.aremember(content, agent_id,
                                                      **_fields(memory_type, importance)))
        except InvalidInput as exc:
            raise ToolException(f"Not remembered: {exc}") from exc

    def recall(query: str, k: int = 5, memory_type: MemoryTypeName | None = None) -> str:
        try:
            return _format_hits(memory.recall(query, agent_id, memory_types=memory_type,
                                              k=min(k, max_k), filter=where))
        except InvalidInput as exc:
            raise ToolException(f"Recall failed: {exc}") from exc

    async def arecall(query: str, k: int = 5, memory_type: MemoryTypeName | None = None) -> str:
        try:
            return _format_hits(await memory.arecall(query, agent_id, memory_types=memory_type,
                                                     k=min(k, max_k), filter=where))
        except InvalidInput as exc:
            raise ToolException(f"Recall failed: {exc}") from exc

    remember_tool = StructuredTool.from_function(
        func=remember, coroutine=aremember, name="remember", args_schema=RememberInput,
        description="Store something worth keeping across conversations in long-term memory: "
                    "facts about the user or the world, events, or how to do things.",
        handle_tool_error=True,
    )
    recall_tool = StructuredTool.from_function(
        func=recall, coroutine=arecall, name="recall", args_schema=RecallInput,
        description="Search long-term memory for what was remembered before; returns the "
                    "closest memories, best first, one per line.",
        handle_tool_error=True,
    )
    return [remember_tool, recall_tool]

