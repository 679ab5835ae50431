"""AgentMemRetriever: LangChain's standard retriever suite on every mode, then our own tests."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

import pytest
from langchain_core.documents import Document
from langchain_core.retrievers import BaseRetriever
from langchain_tests.integration_tests import RetrieversIntegrationTests
from pydantic import ValidationError

from agentmem import MMR, HybridMemory, InvalidFilter, Memory, MemoryType
from langchain_agentmem.retrievers import AgentMemRetriever
from tests.conftest import MODES
from tests.langchain.conftest import new_agent

NOTES: list[tuple[str, str, str, dict[str, Any]]] = [
    ("pref", "semantic", "the user likes dark mode and short answers", {"topic": "ui"}),
    ("food", "semantic", "the user likes spicy food", {"topic": "food"}),
    ("trip", "episodic", "the user told us they like hiking in the alps", {"topic": "travel"}),
    ("deploy", "procedural", "to deploy, run make release then tag the commit", {"topic": "ops"}),
    ("cats", "episodic", "the user likes cats more than dogs", {"topic": "pets"}),
]


def remember_notes(memory: HybridMemory, agent: str) -> None:
    memory.remember_many([Memory(id=i, content=c, agent_id=agent, memory_type=MemoryType(t),
                                 metadata=m) for i, t, c, m in NOTES])


class TestAgentMemRetrieverStandard(RetrieversIntegrationTests):
    """The standard suite, on each mode, over a fresh agent holding NOTES."""

    @pytest.fixture(autouse=True, params=MODES)
    def _agent_with_notes(self, request: pytest.FixtureRequest,
                          hashing_memories: dict[str, HybridMemory]) -> Iterator[None]:
        self._memory = hashing_memories[request.param]
        self._agent = new_agent("retriever-std")
        remember_notes(self._memory, self._agent)
        yield
        self._memory.forget(agent_id=self._agent, memory_types=list(MemoryType))

    @property
    def retriever_constructor(self) -> type[BaseRetriever]:
        return AgentMemRetriever

    @property
    def retriever_constructor_params(self) -> dict[str, Any]:
        return {"memory": self._memory, "agent_id": self._agent}

    @property
    def retriever_query_example(self) -> str:
        return "what does the user like?"


# -- our own ---------------------------------------------------------------------------------


@pytest.fixture
def notes_agent(lc_memory: HybridMemory) -> Iterator[str]:
    agent = new_agent("retriever")
    remember_notes(lc_memory, agent)
    yield agent
    lc_memory.forget(agent_id=agent, memory_types=list(MemoryType))


def ids_of(docs: list[Document]) -> list[str | None]:
    return [d.id for d in docs]


async def test_documents_carry_id_metadata_and_score(lc_memory: HybridMemory,
                                                     notes_agent: str) -> None:
    retriever = AgentMemRetriever(memory=lc_memory, agent_id=notes_agent, k=3)
    docs = retriever.invoke("the user likes spicy food")
    hits = lc_memory.recall("the user likes spicy food", notes_agent, k=3)
    assert docs == [Document(id=h.memory.id, page_content=h.memory.content,
                             metadata={**h.memory.metadata, "score": h.score}) for h in hits]
    assert docs[0].id == "food"
    assert await retriever.ainvoke("the user likes spicy food") == docs
    plain = AgentMemRetriever(memory=lc_memory, agent_id=notes_agent, k=3, score_key=None)
    assert [d.metadata for d in plain.invoke("spicy food")] == [
        dict(NOTES[[n[0] for n in NOTES].index(str(d.id))][3]) for d in plain.invoke("spicy food")]
    other = AgentMemRetriever(memory=lc_memory, agent_id=notes_agent, k=1, score_key="similarity")
    assert set(other.invoke("spicy food")[0].metadata) == {"topic", "similarity"}


async def test_settings_and_per_call_overrides(lc_memory: HybridMemory, notes_agent: str) -> None:
    retriever = AgentMemRetriever(memory=lc_memory, agent_id=notes_agent, k=2,
                                  memory_types="semantic", filter={"topic": {"$ne": "ui"}})
    assert ids_of(retriever.invoke("the user likes")) == ["food"]
    assert ids_of(await retriever.ainvoke("the user likes")) == ["food"]
    # per call: k, memory_types, filter; None drops the retriever's own
    assert len(retriever.invoke("the user likes", k=1, filter=None)) == 1
    assert set(ids_of(retriever.invoke("the user likes", filter=None))) == {"pref", "food"}
    got = await retriever.ainvoke("the user likes", k=5, memory_types=None)
    assert set(ids_of(got)) == {"food", "trip", "deploy", "cats"}
    assert ids_of(retriever.invoke("deploy", memory_types=["procedural"],
                                   filter={"topic": "ops"})) == ["deploy"]
    assert retriever.invoke("the user likes", filter={"topic": "nothing"}) == []
    with pytest.raises(InvalidFilter):
        retriever.invoke("x", filter={"topic": {"$regex": "a"}})
    with pytest.raises(TypeError, match="unexpected arguments: top_k"):
        retriever.invoke("x", top_k=3)
    assert len(retriever.invoke("the user likes", verbose=True)) == 1


async def test_mmr_setting_and_override(lc_memory: HybridMemory) -> None:
    agent = new_agent("retriever-mmr")
    lc_memory.remember_many([
        Memory(id=i, content=c, agent_id=agent) for i, c in
        [("mat1", "the cat sat on the mat"), ("mat2", "the cat sat on the mat today"),
         ("mat3", "the cat sat on a mat"), ("dogs", "dogs chase cats in the park")]])
    try:
        plain = AgentMemRetriever(memory=lc_memory, agent_id=agent, k=2)
        assert "dogs" not in ids_of(plain.invoke("the cat sat on the mat"))
        diverse = MMR(fetch_k=4, lambda_mult=0.1)
        assert ids_of(plain.invoke("the cat sat on the mat", mmr=diverse)) == ["mat1", "dogs"]
        with_mmr = AgentMemRetriever(memory=lc_memory, agent_id=agent, k=2, mmr=diverse)
        assert ids_of(await with_mmr.ainvoke("the cat sat on the mat")) == ["mat1", "dogs"]
        assert ids_of(with_mmr.invoke("the cat sat on the mat", mmr=None)) == \
            ids_of(plain.invoke("the cat sat on the mat"))
    finally:
        lc_memory.forget(agent_id=agent, memory_types=list(MemoryType))


def test_own_metadata_key_is_never_overwritten(lc_memory: HybridMemory, agent_id: str,
                                               caplog: pytest.LogCaptureFixture) -> None:
    lc_memory.remember("a note with its own score", agent_id, metadata={"score": 0.5}, id="n")
    try:
        with caplog.at_level(logging.WARNING, logger="langchain_agentmem"):
            [doc] = AgentMemRetriever(memory=lc_memory, agent_id=agent_id).invoke("note")
        assert doc.metadata == {"score": 0.5}
        assert "score_key" in caplog.text
    finally:
        lc_memory.forget(agent_id=agent_id, memory_types=list(MemoryType))


async def test_native_async(no_executor: None, lc_memory: HybridMemory,
                            notes_agent: str) -> None:
    assert AgentMemRetriever._aget_relevant_documents is not \
        BaseRetriever._aget_relevant_documents
    retriever = AgentMemRetriever(memory=lc_memory, agent_id=notes_agent, k=2)
    assert len(await retriever.ainvoke("the user likes")) == 2


def test_validation(hashing_memories: dict[str, HybridMemory]) -> None:
    memory = hashing_memories["pgvector"]
    bad_params: list[dict[str, Any]] = [
        {"k": 0}, {"agent_id": " "}, {"memory_types": ["facts"]}, {"memory_types": []},
        {"memory": object()}, {"filter": {"topic": {"$regex": "a"}}}]
    for bad in bad_params:
        params: dict[str, Any] = {"memory": memory, "agent_id": "a", **bad}
        with pytest.raises(ValidationError):
            AgentMemRetriever(**params)
    r = AgentMemRetriever(memory=memory, agent_id="a", memory_types=["episodic", "semantic"])
    assert r.memory_types == [MemoryType.EPISODIC, MemoryType.SEMANTIC]
