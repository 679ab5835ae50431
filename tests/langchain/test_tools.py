"""memory_tools: the remember / recall tools on real servers, in every mode."""

from __future__ import annotations

from typing import Any

import pytest
from langchain_core.messages import ToolMessage
from langchain_core.tools import BaseTool
from langchain_core.utils.function_calling import convert_to_openai_tool
from pydantic import ValidationError

from agentmem import HybridMemory, InvalidInput, MemoryType
from langchain_agentmem.tools import RecallInput, RememberInput, memory_tools


def by_name(tools: list[BaseTool]) -> dict[str, BaseTool]:
    return {t.name: t for t in tools}


def test_schemas(memory: HybridMemory, agent_id: str) -> None:
    tools = by_name(memory_tools(memory, agent_id=agent_id))
    assert sorted(tools) == ["recall", "remember"]
    remember, recall = tools["remember"], tools["recall"]
    assert remember.args_schema is RememberInput and recall.args_schema is RecallInput
    assert remember.description and recall.description

    spec = convert_to_openai_tool(remember)["function"]
    props = spec["parameters"]["properties"]
    assert spec["name"] == "remember"
    assert spec["parameters"]["required"] == ["content"]
    assert set(props) == {"content", "memory_type", "importance"}
    assert props["memory_type"]["enum"] == ["episodic", "semantic", "procedural"]
    assert props["importance"]["minimum"] == 0.0 and props["importance"]["maximum"] == 1.0
    assert all(p.get("description") for p in props.values())

    spec = convert_to_openai_tool(recall)["function"]
    props = spec["parameters"]["properties"]
    assert spec["parameters"]["required"] == ["query"]
    assert set(props) == {"query", "k", "memory_type"}
    assert props["k"]["type"] == "integer" and props["k"]["minimum"] == 1

    with pytest.raises(ValidationError):
        remember.invoke({"content": "x", "importance": 1.5})
    with pytest.raises(ValidationError):
        remember.invoke({"content": "x", "memory_type": "dream"})
    with pytest.raises(ValidationError):
        recall.invoke({"query": "x", "k": 0})


def test_remember_then_recall(memory: HybridMemory, agent_id: str) -> None:
    tools = by_name(memory_tools(memory, agent_id=agent_id))
    out = tools["remember"].invoke({"content": "The user's cat is called Miso",
                                    "importance": 0.9})
    assert out.startswith("Remembered (semantic")
    tools["remember"].invoke({"content": "Deployed the billing service on Friday",
                              "memory_type": "episodic"})
    tools["remember"].invoke({"content": "To restart the worker run make restart",
                              "memory_type": "procedural"})

    found = tools["recall"].invoke({"query": "what is the cat called?", "k": 1})
    assert found.startswith("1. [semantic, score ")
    assert "The user's cat is called Miso" in found and len(found.splitlines()) == 1

    only = tools["recall"].invoke({"query": "restart the worker", "memory_type": "procedural"})
    assert only.splitlines() == [line for line in only.splitlines() if "[procedural" in line]
    assert "make restart" in only

    stored = memory.memories(agent_id)
    cat = next(m for m in stored if "Miso" in m.content)
    assert cat.memory_type is MemoryType.SEMANTIC and cat.importance == 0.9
    assert {m.memory_type for m in stored} == set(MemoryType)


async def test_async_remember_then_recall(memory: HybridMemory, agent_id: str) -> None:
    tools = by_name(memory_tools(memory, agent_id=agent_id))
    await tools["remember"].ainvoke({"content": "The office wifi password is hunter2"})
    found = await tools["recall"].ainvoke({"query": "wifi password"})
    assert "hunter2" in found


def test_tool_call_gives_a_tool_message(memory: HybridMemory, agent_id: str) -> None:
    remember, recall = memory_tools(memory, agent_id=agent_id)
    msg = remember.invoke({"type": "tool_call", "id": "call_7", "name": "remember",
                           "args": {"content": "Ann speaks Finnish"}})
    assert isinstance(msg, ToolMessage) and msg.tool_call_id == "call_7"
    msg = recall.invoke({"type": "tool_call", "id": "call_8", "name": "recall",
                         "args": {"query": "which language does Ann speak?"}})
    assert isinstance(msg, ToolMessage) and "Ann speaks Finnish" in msg.content


def test_tenancy(memory: HybridMemory, agent_id: str) -> None:
    mine = by_name(memory_tools(memory, agent_id=agent_id))
    theirs = by_name(memory_tools(memory, agent_id=f"{agent_id}-other"))
    mine["remember"].invoke({"content": "The launch code is 0000"})
    assert theirs["recall"].invoke({"query": "launch code"}) == "No memories found."
    assert "0000" in mine["recall"].invoke({"query": "launch code"})


def test_user_scoping_and_extras(memory: HybridMemory, agent_id: str) -> None:
    ann = by_name(memory_tools(memory, agent_id=agent_id, user_id="ann", session_id="s1",
                               metadata={"source": "chat"}))
    bob = by_name(memory_tools(memory, agent_id=agent_id, user_id="bob"))
    everyone = by_name(memory_tools(memory, agent_id=agent_id, max_k=2))
    ann["remember"].invoke({"content": "Ann's favourite food is ramen"})
    bob["remember"].invoke({"content": "Bob's favourite food is pizza"})
    assert "pizza" not in ann["recall"].invoke({"query": "favourite food"})
    assert "ramen" not in bob["recall"].invoke({"query": "favourite food"})
    both = everyone["recall"].invoke({"query": "favourite food", "k": 10})
    assert "ramen" in both and "pizza" in both and len(both.splitlines()) == 2
    stored = next(m for m in memory.memories(agent_id) if "ramen" in m.content)
    assert (stored.user_id, stored.session_id, stored.metadata) == ("ann", "s1",
                                                                    {"source": "chat"})


@pytest.mark.parametrize("call", ["invoke", "ainvoke"])
async def test_invalid_input_reaches_the_model(memory: HybridMemory, agent_id: str,
                                               call: str) -> None:
    remember, recall = memory_tools(memory, agent_id=agent_id)
    run: Any = getattr(remember, call)
    out = run({"content": "   "})
    out = await out if call == "ainvoke" else out
    assert out.startswith("Not remembered:") and "content" in out
    run = getattr(recall, call)
    out = run({"query": "   "})
    out = await out if call == "ainvoke" else out
    assert out.startswith("Recall failed:")
    assert memory.memories(agent_id) == []


def test_bad_arguments(memory: HybridMemory) -> None:
    with pytest.raises(InvalidInput):
        memory_tools(memory, agent_id=" ")
    with pytest.raises(InvalidInput):
        memory_tools(memory, agent_id="a", max_k=0)
