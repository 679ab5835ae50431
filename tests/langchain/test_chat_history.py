"""AgentMemChatMessageHistory on real servers, in every mode."""

from __future__ import annotations

import uuid
import warnings
from collections.abc import Iterator
from typing import Any

import pytest
from langchain_core.callbacks import CallbackManagerForLLMRun
from langchain_core.chat_history import BaseChatMessageHistory
from langchain_core.language_models.chat_models import BaseChatModel
from langchain_core.messages import (
    AIMessage,
    BaseMessage,
    ChatMessage,
    HumanMessage,
    SystemMessage,
    ToolMessage,
)
from langchain_core.outputs import ChatGeneration, ChatResult
from langchain_core.prompts import ChatPromptTemplate, MessagesPlaceholder
from langchain_core.runnables import Runnable
from pydantic import Field

from agentmem import HybridMemory, InvalidInput
from langchain_agentmem.chat_history import AgentMemChatMessageHistory
from tests.conftest import MODES, make_memory


class RecordingChatModel(BaseChatModel):
    """Answers from a script and records every input it was given; never calls an LLM."""

    replies: list[str] = Field(default_factory=list)
    inputs: list[list[BaseMessage]] = Field(default_factory=list)

    @property
    def _llm_type(self) -> str:
        return "recording-fake"

    def _generate(self, messages: list[BaseMessage], stop: list[str] | None = None,
                  run_manager: CallbackManagerForLLMRun | None = None,
                  **kwargs: Any) -> ChatResult:
        self.inputs.append(list(messages))
        text = self.replies[len(self.inputs) - 1]
        return ChatResult(generations=[ChatGeneration(message=AIMessage(content=text))])


def every_message_type() -> list[BaseMessage]:
    return [
        SystemMessage(content="You are terse.", id="sys-1"),
        HumanMessage(content="What is 2+2? Also remember I like tea.", name="ann", id="h-1",
                     additional_kwargs={"client": {"ip": "10.0.0.1", "tags": ["a", "b"]}}),
        AIMessage(
            content=[{"type": "text", "text": "Let me store that."},
                     {"type": "text", "text": "And compute."}],
            id="ai-1", name="bot",
            tool_calls=[{"name": "remember", "args": {"content": "likes tea", "importance": 0.8},
                         "id": "call_1", "type": "tool_call"}],
            usage_metadata={"input_tokens": 12, "output_tokens": 7, "total_tokens": 19},
            response_metadata={"model_name": "scripted", "finish_reason": "tool_calls"},
            additional_kwargs={"refusal": None},
        ),
        ToolMessage(content="Remembered: likes tea", tool_call_id="call_1", name="remember",
                    id="t-1", artifact={"memory_id": "m-1"}, status="success"),
        AIMessage(content="4. Noted: you like tea.", id="ai-2",
                  usage_metadata={"input_tokens": 20, "output_tokens": 5, "total_tokens": 25}),
        ChatMessage(role="critic", content="Could be friendlier.", id="c-1"),
        HumanMessage(content=[{"type": "text", "text": "thanks"},
                              {"type": "image", "url": "https://example.invalid/cat.png"}],
                     id="h-2"),
    ]


def assert_same(got: list[BaseMessage], want: list[BaseMessage]) -> None:
    assert [type(m) for m in got] == [type(m) for m in want]
    for g, w in zip(got, want):
        assert g == w
        assert g.model_dump() == w.model_dump()


def new_session() -> str:
    return f"s-{uuid.uuid4().hex[:8]}"


def test_every_message_type_round_trips(memory: HybridMemory, agent_id: str) -> None:
    history = AgentMemChatMessageHistory(memory, agent_id=agent_id, session_id=new_session())
    want = every_message_type()
    history.add_messages(want)
    assert_same(history.messages, want)
    ai = history.messages[2]
    assert isinstance(ai, AIMessage)
    assert ai.tool_calls[0]["args"] == {"content": "likes tea", "importance": 0.8}
    assert ai.usage_metadata == {"input_tokens": 12, "output_tokens": 7, "total_tokens": 19}
    tool = history.messages[3]
    assert isinstance(tool, ToolMessage) and tool.tool_call_id == "call_1"
    assert tool.artifact == {"memory_id": "m-1"}


def test_turns_are_readable_in_the_log(memory: HybridMemory, agent_id: str) -> None:
    session = new_session()
    history = AgentMemChatMessageHistory(memory, agent_id=agent_id, session_id=session)
    history.add_messages(every_message_type())
    turns = memory.history(session, agent_id)
    assert [t.role for t in turns] == ["system", "human", "ai", "tool", "ai", "chat", "human"]
    assert turns[1].content == "What is 2+2? Also remember I like tea."
    assert turns[2].content == "Let me store that.And compute."
    assert turns[6].content == "thanks"


def test_order_is_kept_across_writes(memory: HybridMemory, agent_id: str) -> None:
    history = AgentMemChatMessageHistory(memory, agent_id=agent_id, session_id=new_session())
    want: list[BaseMessage] = []
    for i in range(6):
        batch = [HumanMessage(content=f"q{i}"), AIMessage(content=f"a{i}")]
        if i % 2:
            history.add_messages(batch)
        else:
            for m in batch:
                history.add_message(m)
        want += batch
    history.add_user_message("last question")
    history.add_ai_message("last answer")
    want += [HumanMessage(content="last question"), AIMessage(content="last answer")]
    assert_same(history.messages, want)


def test_sessions_and_agents_are_isolated(memory: HybridMemory, agent_id: str) -> None:
    s1, s2 = new_session(), new_session()
    other_agent = f"{agent_id}-other"
    a1 = AgentMemChatMessageHistory(memory, agent_id=agent_id, session_id=s1)
    a2 = AgentMemChatMessageHistory(memory, agent_id=agent_id, session_id=s2)
    b1 = AgentMemChatMessageHistory(memory, agent_id=other_agent, session_id=s1)
    a1.add_messages([HumanMessage(content="agent a, session 1")])
    a2.add_messages([HumanMessage(content="agent a, session 2")])
    b1.add_messages([HumanMessage(content="agent b, session 1")])
    assert [m.content for m in a1.messages] == ["agent a, session 1"]
    assert [m.content for m in a2.messages] == ["agent a, session 2"]
    assert [m.content for m in b1.messages] == ["agent b, session 1"]


def test_clear_empties_only_its_session(memory: HybridMemory, agent_id: str) -> None:
    s1, s2 = new_session(), new_session()
    a1 = AgentMemChatMessageHistory(memory, agent_id=agent_id, session_id=s1)
    a2 = AgentMemChatMessageHistory(memory, agent_id=agent_id, session_id=s2)
    b1 = AgentMemChatMessageHistory(memory, agent_id=f"{agent_id}-b", session_id=s1)
    for h in (a1, a2, b1):
        h.add_messages([HumanMessage(content="hello"), AIMessage(content="hi")])
    a1.clear()
    assert a1.messages == []
    assert len(a2.messages) == 2 and len(b1.messages) == 2
    a1.add_messages([HumanMessage(content="after clear")])
    assert [m.content for m in a1.messages] == ["after clear"]


async def test_async_twins(memory: HybridMemory, agent_id: str) -> None:
    history = AgentMemChatMessageHistory(memory, agent_id=agent_id, session_id=new_session())
    want = every_message_type()
    await history.aadd_messages(want[:3])
    await history.aadd_messages(want[3:])
    await history.aadd_messages([])
    assert_same(await history.aget_messages(), want)
    await history.aclear()
    assert await history.aget_messages() == []


def test_turns_from_other_writers_are_read_by_role(memory: HybridMemory, agent_id: str) -> None:
    session = new_session()
    memory.add_turn(session, agent_id, "user", "plain user turn")
    memory.add_turn(session, agent_id, "assistant", "plain assistant turn")
    memory.add_turn(session, agent_id, "system", "plain system turn")
    memory.add_turn(session, agent_id, "tool", "42", extra={"tool_call_id": "c9"})
    memory.add_turn(session, agent_id, "narrator", "meanwhile")
    got = AgentMemChatMessageHistory(memory, agent_id=agent_id, session_id=session).messages
    assert [type(m) for m in got] == [HumanMessage, AIMessage, SystemMessage, ToolMessage,
                                      ChatMessage]
    assert isinstance(got[3], ToolMessage) and got[3].tool_call_id == "c9"
    assert isinstance(got[4], ChatMessage) and got[4].role == "narrator"


def test_bad_arguments(memory: HybridMemory, agent_id: str) -> None:
    with pytest.raises(ValueError):
        AgentMemChatMessageHistory(memory, agent_id=agent_id, session_id=" ")
    with pytest.raises(ValueError):
        AgentMemChatMessageHistory(memory, agent_id="", session_id="s")
    history = AgentMemChatMessageHistory(memory, agent_id=agent_id, session_id=new_session())
    with pytest.raises(InvalidInput):  # not JSON: refused before anything is written
        history.add_messages([HumanMessage(content="ok"),
                              HumanMessage(content="x", additional_kwargs={"obj": object()})])
    assert history.messages == []


# -- RunnableWithMessageHistory --------------------------------------------------------


def with_history(model: RecordingChatModel,
                 get_history: Any) -> Runnable[Any, Any]:
    from langchain_core.runnables.history import RunnableWithMessageHistory

    prompt = ChatPromptTemplate.from_messages([
        ("system", "You are a helpful assistant."),
        MessagesPlaceholder("history"),
        ("human", "{question}"),
    ])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        return RunnableWithMessageHistory(prompt | model, get_history,
                                          input_messages_key="question",
                                          history_messages_key="history")


def histories(memory: HybridMemory, agent_id: str) -> Any:
    def get(session_id: str) -> BaseChatMessageHistory:
        return AgentMemChatMessageHistory(memory, agent_id=agent_id, session_id=session_id)
    return get


def contents(messages: list[BaseMessage]) -> list[tuple[str, Any]]:
    return [(m.type, m.content) for m in messages]


def test_runnable_with_message_history(memory: HybridMemory, agent_id: str) -> None:
    model = RecordingChatModel(replies=["Hi Ann!", "Your name is Ann."])
    chain = with_history(model, histories(memory, agent_id))
    config: Any = {"configurable": {"session_id": new_session()}}
    assert chain.invoke({"question": "I am Ann."}, config=config).content == "Hi Ann!"
    chain.invoke({"question": "What is my name?"}, config=config)
    assert contents(model.inputs[1]) == [
        ("system", "You are a helpful assistant."), ("human", "I am Ann."), ("ai", "Hi Ann!"),
        ("human", "What is my name?")]
    other: Any = {"configurable": {"session_id": new_session()}}
    model.replies.append("Who are you?")
    chain.invoke({"question": "Hello"}, config=other)
    assert contents(model.inputs[2]) == [("system", "You are a helpful assistant."),
                                         ("human", "Hello")]


async def test_runnable_with_message_history_async(memory: HybridMemory, agent_id: str) -> None:
    model = RecordingChatModel(replies=["Noted: blue.", "Blue."])
    chain = with_history(model, histories(memory, agent_id))
    session = new_session()
    config: Any = {"configurable": {"session_id": session}}
    await chain.ainvoke({"question": "My favourite colour is blue."}, config=config)
    await chain.ainvoke({"question": "What is my favourite colour?"}, config=config)
    assert contents(model.inputs[1])[1:3] == [("human", "My favourite colour is blue."),
                                              ("ai", "Noted: blue.")]
    stored = await AgentMemChatMessageHistory(memory, agent_id=agent_id,
                                              session_id=session).aget_messages()
    assert contents(stored) == [("human", "My favourite colour is blue."),
                                ("ai", "Noted: blue."),
                                ("human", "What is my favourite colour?"), ("ai", "Blue.")]


@pytest.fixture(params=MODES)
def reopenable(request: pytest.FixtureRequest, pg_url: str,
               chroma_url: str) -> Iterator[Any]:
    """Opens memories on the session servers in one mode and closes whatever is left open."""
    opened: list[HybridMemory] = []

    def open_memory() -> HybridMemory:
        m: HybridMemory = make_memory(request.param, pg_url, chroma_url)
        opened.append(m)
        return m

    yield open_memory
    for m in opened:
        m.close()


def test_second_turn_sees_the_first_after_reopening(reopenable: Any, agent_id: str) -> None:
    session = new_session()
    first = reopenable()
    model1 = RecordingChatModel(replies=["Nice to meet you, Bo."])
    with_history(model1, histories(first, agent_id)).invoke(
        {"question": "My name is Bo."}, config={"configurable": {"session_id": session}})
    first.close()  # the "process" ends: pools closed, nothing cached survives

    second = reopenable()
    model2 = RecordingChatModel(replies=["You are Bo."])
    answer = with_history(model2, histories(second, agent_id)).invoke(
        {"question": "Who am I?"}, config={"configurable": {"session_id": session}})
    assert answer.content == "You are Bo."
    assert contents(model2.inputs[0]) == [
        ("system", "You are a helpful assistant."), ("human", "My name is Bo."),
        ("ai", "Nice to meet you, Bo."), ("human", "Who am I?")]
