"""Real LangGraph agents with a scripted chat model (no LLM) using agentmem for memory.

1. The ``remember`` / ``recall`` tools: a fact remembered in one thread is recalled in
   another thread, and the recalled text reaches the model's next input.
2. ``AgentMemStore`` as the agent's LangGraph store, reached from tools through
   ``InjectedStore``, ``ToolRuntime.store`` and ``get_store()``.

Both run with LangChain 1.x ``create_agent`` and LangGraph's ``create_react_agent``.
"""

from __future__ import annotations

import uuid
import warnings
from collections.abc import Callable, Sequence
from typing import Annotated, Any

import pytest
from langchain.agents import create_agent
from langchain.tools import InjectedStore, ToolRuntime
from langchain_core.callbacks import CallbackManagerForLLMRun
from langchain_core.language_models.chat_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, ToolMessage
from langchain_core.outputs import ChatGeneration, ChatResult
from langchain_core.runnables import Runnable
from langchain_core.tools import BaseTool, tool
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.config import get_store
from langgraph.store.base import BaseStore
from pydantic import Field

from agentmem import HybridMemory
from langchain_agentmem.store import AgentMemStore
from langchain_agentmem.tools import memory_tools


class ScriptedChatModel(BaseChatModel):
    """Replies with predetermined messages (tool calls included) and records its inputs."""

    script: list[AIMessage] = Field(default_factory=list)
    inputs: list[list[BaseMessage]] = Field(default_factory=list)

    @property
    def _llm_type(self) -> str:
        return "scripted-fake"

    def bind_tools(self, tools: Sequence[Any], **kwargs: Any) -> Runnable[Any, Any]:
        return self  # the script already knows which tools it calls

    def _generate(self, messages: list[BaseMessage], stop: list[str] | None = None,
                  run_manager: CallbackManagerForLLMRun | None = None,
                  **kwargs: Any) -> ChatResult:
        self.inputs.append(list(messages))
        reply = self.script[len(self.inputs) - 1]
        return ChatResult(generations=[ChatGeneration(message=reply)])


def call(name: str, **args: Any) -> AIMessage:
    return AIMessage(content="", tool_calls=[{"name": name, "args": args,
                                              "id": f"call_{uuid.uuid4().hex[:8]}",
                                              "type": "tool_call"}])


def build_with_create_agent(model: BaseChatModel, tools: list[Any],
                            store: BaseStore | None) -> Any:
    return create_agent(model, tools, checkpointer=InMemorySaver(), store=store)


def build_with_create_react_agent(model: BaseChatModel, tools: list[Any],
                                  store: BaseStore | None) -> Any:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from langgraph.prebuilt import create_react_agent

        return create_react_agent(model, tools, checkpointer=InMemorySaver(), store=store)


BUILDERS: dict[str, Callable[[BaseChatModel, list[Any], BaseStore | None], Any]] = {
    "create_agent": build_with_create_agent,
    "create_react_agent": build_with_create_react_agent,
}


async def run(agent: Any, text: str, thread: str, use_async: bool) -> dict[str, Any]:
    payload = {"messages": [HumanMessage(content=text)]}
    config: Any = {"configurable": {"thread_id": thread}}
    if use_async:
        result: dict[str, Any] = await agent.ainvoke(payload, config=config)
    else:
        result = agent.invoke(payload, config=config)
    return result


def tool_outputs(messages: list[BaseMessage]) -> list[str]:
    return [str(m.content) for m in messages if isinstance(m, ToolMessage)]


@pytest.mark.parametrize("use_async", [False, True], ids=["sync", "async"])
@pytest.mark.parametrize("builder", list(BUILDERS))
async def test_agent_recalls_in_a_new_thread_what_it_remembered(
        memory: HybridMemory, agent_id: str, builder: str, use_async: bool) -> None:
    model = ScriptedChatModel(script=[
        call("remember", content="The user's dog is called Biscuit", importance=0.9),
        AIMessage(content="I'll remember that."),
        call("recall", query="what is the dog called?", k=3),
        AIMessage(content="Your dog is called Biscuit."),
    ])
    tools: list[BaseTool] = memory_tools(memory, agent_id=agent_id)
    agent = BUILDERS[builder](model, list(tools), None)

    first = await run(agent, "My dog is called Biscuit.", "thread-1", use_async)
    assert first["messages"][-1].content == "I'll remember that."
    assert tool_outputs(first["messages"])[0].startswith("Remembered (semantic")

    second = await run(agent, "What is my dog called?", "thread-2", use_async)
    assert second["messages"][-1].content == "Your dog is called Biscuit."
    # The model's last input held the recall tool's output, straight from agentmem...
    recalled = [m for m in model.inputs[3] if isinstance(m, ToolMessage)]
    assert len(recalled) == 1 and recalled[0].name == "recall"
    assert "The user's dog is called Biscuit" in str(recalled[0].content)
    # ...and not from the checkpointer: thread 2 never saw thread 1's messages.
    assert all(m.content != "My dog is called Biscuit." for m in model.inputs[3])
    assert [m.content for m in model.inputs[2]] == ["What is my dog called?"]

    stored = memory.memories(agent_id)
    assert [m.content for m in stored] == ["The user's dog is called Biscuit"]
    assert stored[0].importance == 0.9


@tool
def save_note(text: str, topic: str, store: Annotated[BaseStore, InjectedStore()]) -> str:
    """Save a note about a topic."""
    store.put(("notes", topic), uuid.uuid4().hex[:8], {"text": text, "topic": topic})
    return f"saved note on {topic}"


@tool
def find_notes(query: str, runtime: ToolRuntime) -> str:
    """Find notes about something."""
    assert runtime.store is not None
    hits = runtime.store.search(("notes",), query=query, limit=2)
    return "\n".join(f"{h.namespace[-1]}: {h.value['text']}" for h in hits) or "no notes"


@tool
def note_topics() -> str:
    """List the topics that have notes."""
    return ", ".join(ns[-1] for ns in get_store().list_namespaces(prefix=("notes",)))


@pytest.mark.parametrize("use_async", [False, True], ids=["sync", "async"])
@pytest.mark.parametrize("builder", list(BUILDERS))
async def test_agent_uses_agentmem_as_its_langgraph_store(
        memory: HybridMemory, agent_id: str, builder: str, use_async: bool) -> None:
    store = AgentMemStore(memory, agent_id=agent_id, index={"fields": ["text"]})
    model = ScriptedChatModel(script=[
        call("save_note", text="The quarterly report is due on March 3rd", topic="work"),
        call("save_note", text="Buy oat milk and coffee beans", topic="shopping"),
        AIMessage(content="Saved both notes."),
        call("find_notes", query="when is the quarterly report due?"),
        call("note_topics"),
        AIMessage(content="The report is due on March 3rd."),
    ])
    agent = BUILDERS[builder](model, [save_note, find_notes, note_topics], store)

    await run(agent, "Note: report due March 3rd; buy oat milk.", "t-1", use_async)
    second = await run(agent, "When is the report due?", "t-2", use_async)
    assert second["messages"][-1].content == "The report is due on March 3rd."

    found, topics = tool_outputs(model.inputs[4])[0], tool_outputs(model.inputs[5])[1]
    assert found.splitlines()[0] == "work: The quarterly report is due on March 3rd"
    assert topics == "shopping, work"
    # What the tools wrote is in agentmem, as items of this agent only.
    assert sorted(store.list_namespaces()) == [("notes", "shopping"), ("notes", "work")]
    assert AgentMemStore(memory, agent_id=f"{agent_id}-other").list_namespaces() == []
    assert {m.content for m in memory.memories(agent_id)} == {
        "The quarterly report is due on March 3rd", "Buy oat milk and coffee beans"}
