"""One agentmem store, two frameworks: what LangChain writes, LlamaIndex reads, and back.

The test imports both frameworks; the adapter packages never import each other.
"""

from __future__ import annotations

import json
import subprocess
import sys
import uuid
from collections.abc import Callable

from langchain_core.documents import Document
from langchain_core.messages import AIMessage, HumanMessage, SystemMessage, ToolMessage
from llama_index.core.base.llms.types import ChatMessage, MessageRole

from agentmem import HybridMemory
from langchain_agentmem import (
    AgentMemChatMessageHistory,
    AgentMemRetriever,
    AgentMemVectorStore,
    memory_tools,
)
from llamaindex_agentmem.chat_store import AgentMemChatStore
from llamaindex_agentmem.embeddings import LlamaIndexEmbedder, llamaindex_embedding
from llamaindex_agentmem.memory_blocks import (
    EpisodicMemoryBlock,
    ProceduralMemoryBlock,
    SemanticMemoryBlock,
)
from tests.conftest import make_memory
from tests.llamaindex.test_embeddings_adapter import CountingEmbedding


def ask(text: str) -> list[ChatMessage]:
    return [ChatMessage(role="user", content=text)]


async def test_langchain_writes_llamaindex_recalls(li_memory: HybridMemory, agent_id: str) -> None:
    other_agent = agent_id + "-b"
    store = AgentMemVectorStore(li_memory, agent_id=agent_id, memory_type="semantic")
    store.add_texts(["The user is allergic to peanuts.", "The user's sister is called Ines."],
                    metadatas=[{"topic": "health"}, {"topic": "family"}])
    AgentMemVectorStore(li_memory, agent_id=other_agent, memory_type="semantic").add_texts(
        ["Agent B's user collects stamps."])
    remember = {t.name: t for t in memory_tools(li_memory, agent_id=agent_id)}["remember"]
    await remember.ainvoke({"content": "To order food for the user: never include peanuts.",
                            "memory_type": "procedural"})

    facts = SemanticMemoryBlock(memory=li_memory, agent_id=agent_id, k=1)
    assert await facts.aget(ask("Am I allergic to peanuts?")) == \
        "- The user is allergic to peanuts."
    assert "stamps" not in await facts.aget(ask("What does the user collect? stamps?"))
    procedures = ProceduralMemoryBlock(memory=li_memory, agent_id=agent_id)
    assert "never include peanuts" in await procedures.aget(ask("Please order food for me"))
    # Agent B sees nothing of agent A, through either framework.
    for cls in (SemanticMemoryBlock, ProceduralMemoryBlock):
        text = await cls(memory=li_memory, agent_id=other_agent).aget(ask("peanuts food order"))
        assert "peanuts" not in text
    assert "stamps" in await SemanticMemoryBlock(memory=li_memory, agent_id=other_agent).aget(
        ask("stamps"))
    # A metadata filter written by LangChain is usable from the LlamaIndex block.
    family = SemanticMemoryBlock(memory=li_memory, agent_id=agent_id, filter={"topic": "family"})
    assert await family.aget(ask("peanuts allergy")) == "- The user's sister is called Ines."


async def test_llamaindex_writes_langchain_recalls(li_memory: HybridMemory,
                                                   agent_id: str) -> None:
    block = EpisodicMemoryBlock(memory=li_memory, agent_id=agent_id)
    await block.aput([ChatMessage(role="user", content="We repaired the garden fence today.")],
                     session_id="s-1")
    retriever = AgentMemRetriever(memory=li_memory, agent_id=agent_id,
                                  memory_types=["episodic"], k=1)
    docs = await retriever.ainvoke("garden fence")
    assert [d.page_content for d in docs] == ["user: We repaired the garden fence today."]
    assert isinstance(docs[0], Document)
    other = AgentMemRetriever(memory=li_memory, agent_id=agent_id + "-b",
                              memory_types=["episodic"], k=1)
    assert await other.ainvoke("garden fence") == []


async def test_one_embedding_configuration_for_both(new_database: Callable[[], str],
                                                    chroma_url: str, agent_id: str) -> None:
    """A memory embedding with a LlamaIndex model serves LangChain writes and LlamaIndex
    reads in one vector space."""
    model = CountingEmbedding(model_name="shared-model")
    memory = make_memory("hybrid", new_database(), chroma_url, 32,
                         embedder=LlamaIndexEmbedder(model), prefix=f"x-{uuid.uuid4().hex[:8]}")
    try:
        store = AgentMemVectorStore(memory, agent_id=agent_id, memory_type="semantic")
        store.add_texts(["The user drives a green tram.", "The user plays the cello."])
        assert store.embeddings.embed_query("cello") == model.get_query_embedding("cello")
        block = SemanticMemoryBlock(memory=memory, agent_id=agent_id, k=1)
        assert await block.aget(ask("Which instrument, the cello?")) == \
            "- The user plays the cello."
        assert llamaindex_embedding(memory.embedder) is model
        assert "aquery" in model._calls  # the block's recall embedded through the LlamaIndex model
        nobody = SemanticMemoryBlock(memory=memory, agent_id=agent_id + "-b")
        assert await nobody.aget(ask("cello")) == ""
    finally:
        await memory.aclose()


def test_chat_history_is_shared(li_memory: HybridMemory, agent_id: str) -> None:
    session = f"s-{uuid.uuid4().hex[:8]}"
    history = AgentMemChatMessageHistory(li_memory, agent_id=agent_id, session_id=session)
    history.add_messages([SystemMessage("Be brief."), HumanMessage("Hi, I'm Ann."),
                          AIMessage("Hello Ann."),
                          ToolMessage("42", tool_call_id="call-1")])
    store = AgentMemChatStore(li_memory, agent_id=agent_id)
    got = store.get_messages(session)
    assert [(m.role, m.content) for m in got] == [
        (MessageRole.SYSTEM, "Be brief."), (MessageRole.USER, "Hi, I'm Ann."),
        (MessageRole.ASSISTANT, "Hello Ann."), (MessageRole.TOOL, "42")]
    assert got[3].additional_kwargs == {"tool_call_id": "call-1"}

    store.add_message(session, ChatMessage(role="user", content="Thanks!"))
    store.add_message(session, ChatMessage(role="assistant", content="You're welcome."))
    tail = history.messages[-2:]
    assert [type(m) for m in tail] == [HumanMessage, AIMessage]
    assert [m.content for m in tail] == ["Thanks!", "You're welcome."]
    # Agent isolation holds across frameworks too.
    assert AgentMemChatStore(li_memory, agent_id=agent_id + "-b").get_messages(session) == []


def loaded_after_importing(package: str, prefixes: tuple[str, ...]) -> dict[str, list[str]]:
    """In a fresh interpreter: every module of ``package``, and what matching ``prefixes``
    importing them all loaded."""
    code = f"""
import importlib, json, pkgutil, sys
import {package}
names = [m.name for m in pkgutil.iter_modules({package}.__path__, "{package}.")]
for name in names:
    if name != "langchain_agentmem.store":  # needs the optional langgraph extra
        importlib.import_module(name)
print(json.dumps({{"modules": names,
                  "loaded": sorted(m for m in sys.modules if m.startswith({prefixes!r}))}}))
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    found: dict[str, list[str]] = json.loads(out.stdout)
    return found


def test_adapters_do_not_import_each_other() -> None:
    li = loaded_after_importing("llamaindex_agentmem", ("langchain", "langgraph"))
    assert {"llamaindex_agentmem.chat_store", "llamaindex_agentmem.memory_blocks",
            "llamaindex_agentmem.embeddings"} <= set(li["modules"])
    assert li["loaded"] == []
    lc = loaded_after_importing("langchain_agentmem", ("llama_index", "llamaindex_agentmem"))
    assert "langchain_agentmem.vectorstores" in lc["modules"]
    assert lc["loaded"] == []
