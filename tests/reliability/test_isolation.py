"""Isolation: nothing written for agent A is ever seen, changed or deleted from agent B.

Property-based (hypothesis) over tenant pairs that are easy to confuse (unicode, one a
prefix of the other, LIKE wildcards ``%`` ``_`` and the escape ``\\``, case), memory types,
metadata and filters. A and B share memory ids, session ids, LangGraph namespaces and keys,
LlamaIndex node ids and chat keys, so any read or write not scoped by agent shows. Every
read method of the core and of each adapter class is asked from B, with A's ids and words;
every write of B aimed at A's ids must change nothing of A.
"""

from __future__ import annotations

import asyncio
import tempfile
import uuid
from collections.abc import Coroutine, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from langchain_core.messages import AIMessage, HumanMessage
from llama_index.core.base.llms.types import ChatMessage, MessageRole
from llama_index.core.schema import NodeRelationship, RelatedNodeInfo, TextNode
from llama_index.core.vector_stores.types import VectorStoreQuery, VectorStoreQueryMode

from agentmem import MMR, ChatTurn, HybridMemory, Memory, MemoryType, NotFound
from agentmem.backends.base import LexicalSearch, LinkStore
from agentmem.errors import ConfigError
from langchain_agentmem import AgentMemChatMessageHistory, AgentMemRetriever, memory_tools
from langchain_agentmem import AgentMemVectorStore as LCVectorStore
from langchain_agentmem.store import AgentMemStore
from llamaindex_agentmem import AgentMemChatStore, AgentMemDBChatStore, EpisodicMemoryBlock
from llamaindex_agentmem import AgentMemVectorStore as LIVectorStore
from tests.conftest import MODES

T = TypeVar("T")

CORE_EXAMPLES = 30  # per mode
ADAPTER_EXAMPLES = 20  # per mode
SESSION = "chat"  # both agents use the same session ids and chat keys
SOURCE_DOC = "source-doc"  # the LlamaIndex ref_doc_id of both agents' nodes
LC_SESSION, DB_KEY = "lc-chat", "db-chat"  # of the LangChain history, the LlamaIndex DB store
CONFUSABLE = [("a", "a%"), ("a%", "a"), ("a", "a_"), ("a_", "ab"), ("ab", "a_"), ("%", "x"),
              ("_", "x"), ("a", "A"), ("a\\", "a"), ("a\\%", "a%"), ("é", "e\u0301"),
              ("用户", "用户1"), ("🙂", "🙃"), ("a", "a "), ("a*", "ab"), ("a.", "ab")]
SUFFIX = st.text(alphabet=list("aA_%\\*.[]'\"é中🙂 -\u0301"), min_size=1, max_size=5)
TYPES = list(MemoryType)
TAGS = ["red", "green", "blue"]


def tenant_pairs() -> st.SearchStrategy[tuple[str, str]]:
    """Agent id suffixes for A and B: a confusable pair, or two random different ones."""
    drawn = st.tuples(SUFFIX, SUFFIX).filter(lambda p: p[0] != p[1])
    return st.one_of(st.sampled_from(CONFUSABLE), drawn)


@dataclass(frozen=True)
class Spec:
    """One memory to write: its type, a tag and a number in its metadata."""

    memory_type: MemoryType
    tag: str
    number: int


SPECS = st.builds(Spec, st.sampled_from(TYPES), st.sampled_from(TAGS), st.integers(-5, 5))
FILTERS = st.one_of(
    st.none(),
    st.sampled_from(TAGS).map(lambda t: {"tag": t}),
    st.integers(-5, 5).map(lambda n: {"number": {"$gte": n}}),
    st.lists(st.sampled_from(TAGS), min_size=1, max_size=2).map(lambda ts: {"tag": {"$in": ts}}),
    st.sampled_from(TAGS).map(lambda t: {"$or": [{"tag": t}, {"number": {"$lt": 0}}]}),
)
TYPE_SCOPES = st.one_of(st.none(), st.lists(st.sampled_from(TYPES), min_size=1, max_size=2,
                                            unique=True))


def run(coro: Coroutine[Any, Any, T]) -> T:
    """Await an async-only adapter method from a hypothesis test."""
    return asyncio.run(coro)


def agents(pair: tuple[str, str]) -> tuple[str, str, str, str]:
    """Fresh agent ids ``base + suffix`` for A and B, and a word only each one's text holds."""
    base = f"iso-{uuid.uuid4().hex[:8]}-"
    return base + pair[0], base + pair[1], f"zqa{uuid.uuid4().hex[:8]}", f"zqb{uuid.uuid4().hex[:8]}"


def memories_of(agent: str, marker: str, specs: Sequence[Spec]) -> list[Memory]:
    return [Memory(id=f"m{i}", agent_id=agent, memory_type=s.memory_type,
                   content=f"{marker} garden note {i} about {s.tag} roses",
                   metadata={"tag": s.tag, "number": s.number, "owner": marker},
                   session_id=SESSION)
            for i, s in enumerate(specs)]


def only_b(found: Sequence[Memory], b: str, a_marker: str) -> None:
    """Every memory B was given is B's own."""
    for m in found:
        assert m.agent_id == b, f"{m.id} of {m.agent_id!r} returned for {b!r}"
        assert a_marker not in m.content and m.metadata.get("owner") != a_marker


# -- the core API -----------------------------------------------------------------------------


@pytest.mark.parametrize("mode", MODES)
@settings(max_examples=CORE_EXAMPLES, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(pair=tenant_pairs(), a_specs=st.lists(SPECS, min_size=2, max_size=4),
       b_specs=st.lists(SPECS, max_size=3), where=FILTERS, types=TYPE_SCOPES)
def test_core_isolation(mode: str, hashing_memories: dict[str, HybridMemory],
                        pair: tuple[str, str], a_specs: list[Spec], b_specs: list[Spec],
                        where: Mapping[str, Any] | None,
                        types: list[MemoryType] | None) -> None:
    memory = hashing_memories[mode]
    a, b, ma, mb = agents(pair)
    a_mems, b_mems = memories_of(a, ma, a_specs), memories_of(b, mb, b_specs)
    a_ids = [m.id for m in a_mems]
    shared = [m.id for m in b_mems if m.id in a_ids]
    a_only = [i for i in a_ids if i not in shared]
    memory.remember_many(a_mems)
    if b_mems:
        memory.remember_many(b_mems)
    memory.add_turns([ChatTurn(session_id=SESSION, agent_id=a, role="user", content=f"{ma} hi")])
    memory.add_turns([ChatTurn(session_id=SESSION, agent_id=b, role="user", content=f"{mb} yo")])
    links = isinstance(memory.backend, LinkStore)
    if links:
        memory.link(a_ids[0], a_ids[1], a)

    # reads from B, with A's words, vectors, ids and filters
    query = a_mems[0].content
    only_b([h.memory for h in memory.recall(query, b, k=50, filter=where, memory_types=types)],
           b, ma)
    only_b([h.memory for h in memory.recall(query, b, k=10, mmr=MMR(fetch_k=30))], b, ma)
    if links:
        expanded = memory.recall(query, b, k=10, expand_related=True)
        only_b([h.memory for h in expanded], b, ma)
        assert all(r.memory.agent_id == b for h in expanded for r in h.related)
    vector = memory.embedder.embed_query(query)
    only_b([h.memory for h in memory.recall_by_vector(vector, b, k=50, filter=where,
                                                      memory_types=types)], b, ma)
    if isinstance(memory.backend, LexicalSearch):
        only_b([h.memory for h in memory.search_text(f"{ma} garden", b, k=50)], b, ma)
    for i in a_only:
        with pytest.raises(NotFound):
            memory.get(i, b)
    got = memory.get_many(a_ids, b)
    assert [m.id for m in got] == shared
    only_b(got, b, ma)
    listed = memory.memories(b, filter=where, memory_types=types)
    only_b(listed, b, ma)
    assert len(memory.memories(b)) == len(b_mems)
    assert [t.content for t in memory.history(SESSION, b)] == [f"{mb} yo"]
    assert memory.sessions(b) == [SESSION]
    stats = memory.stats(b)
    assert (stats.total, stats.turns) == (len(b_mems), 1)
    if links:
        assert memory.links(a_ids[0], b) == []
        assert memory.related(a_ids[0], b) == []
        if not shared:
            with pytest.raises(NotFound):
                memory.link(a_ids[0], a_ids[1], b)
    try:
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "b.jsonl"
            memory.export(path, b)
            assert ma not in path.read_text(encoding="utf-8")
    except ConfigError:
        assert mode == "chroma"  # chroma mode lists no vectors, so it cannot export

    # writes from B aimed at A's ids must leave A as it was
    if a_only:
        assert memory.forget(a_only, b) == 0
    for i in a_only:
        with pytest.raises(NotFound):
            memory.update(i, b, content="overwritten by b")
    memory.forget(agent_id=b, filter=where or {"tag": {"$in": TAGS}})
    assert memory.forget(a_ids, b) <= len(shared)  # B's own copies of those ids at most
    memory.forget(agent_id=b, memory_types=list(MemoryType))
    memory.clear_history(SESSION, b)
    assert memory.memories(b) == []
    kept = memory.get_many(a_ids, a)
    assert [(m.id, m.content, m.metadata) for m in kept] == \
        [(m.id, m.content, m.metadata) for m in a_mems]
    assert [t.content for t in memory.history(SESSION, a)] == [f"{ma} hi"]
    if links:
        assert [(x.source_id, x.target_id) for x in memory.links(a_ids[0], a)] == \
            [(a_ids[0], a_ids[1])]


# -- the adapters -----------------------------------------------------------------------------


class Tenant:
    """One agent's instance of every adapter class, all on one memory."""

    def __init__(self, memory: HybridMemory, agent: str, marker: str) -> None:
        self.agent, self.marker = agent, marker
        self.lc = LCVectorStore(memory, agent_id=agent)
        self.history = AgentMemChatMessageHistory(memory, agent_id=agent, session_id=LC_SESSION)
        self.lg = AgentMemStore(memory, agent_id=agent, index={"fields": ["text"]})
        self.li = LIVectorStore(memory, agent_id=agent, memory_type=MemoryType.EPISODIC)
        self.chat = AgentMemChatStore(memory, agent_id=agent)
        self.db = AgentMemDBChatStore(memory, agent_id=agent)

    def text(self, i: int) -> str:
        return f"{self.marker} harbour note {i} about boats"

    def write(self, n: int, tag: str) -> None:
        """``n`` items in each adapter, under ids, keys and sessions both agents use."""
        meta = {"tag": tag, "owner": self.marker}
        self.lc.add_texts([self.text(i) for i in range(n)], [meta] * n,
                          ids=[f"doc{i}" for i in range(n)])
        self.history.add_messages([HumanMessage(f"{self.marker} hello"),
                                   AIMessage(f"{self.marker} hi")])
        for i in range(n):
            self.lg.put(("users", "u1"), f"key{i}", {"text": self.text(i), "tag": tag,
                                                     "owner": self.marker})
        source = {NodeRelationship.SOURCE: RelatedNodeInfo(node_id=SOURCE_DOC)}
        self.li.add([TextNode(id_=f"node{i}", text=self.text(i), metadata=meta,
                              relationships=source) for i in range(n)])
        self.chat.add_message(SESSION, ChatMessage(role=MessageRole.USER, content=self.marker))
        run(self.db.add_message(DB_KEY, ChatMessage(role=MessageRole.USER, content=self.marker)))

    def contents(self) -> dict[str, list[str]]:
        """What each adapter holds, to compare before and after the other agent's writes."""
        return {
            "lc": [d.page_content for d in self.lc.get_by_ids([f"doc{i}" for i in range(4)])],
            "history": [str(m.content) for m in self.history.messages],
            "lg": [i.value["text"] for i in self.lg.search(("users",), limit=10)],
            "li": [n.get_content() for n in self.li.get_nodes([f"node{i}" for i in range(4)])],
            "chat": [str(m.content) for m in self.chat.get_messages(SESSION)],
            "db": [str(m.content) for m in run(self.db.get_messages(DB_KEY, status=None))],
        }


def no_marker(texts: Sequence[object], marker: str) -> None:
    for text in texts:
        assert marker not in str(text), f"{marker} (the other agent's) in {text!r}"


def async_reads(b: Tenant, query: str, vector: list[float], a_ids: list[str]) -> list[object]:
    """What B's adapters return through their async methods, asked with A's text and ids."""

    async def reads() -> list[object]:
        found: list[object] = [d.page_content for d in await b.lc.asimilarity_search(query, k=20)]
        found += [d.page_content for d in await b.lc.asimilarity_search_by_vector(vector, k=20)]
        found += [d.page_content for d in await b.lc.amax_marginal_relevance_search(query, k=5)]
        found += [d.page_content for d in await b.lc.aget_by_ids(a_ids)]
        found += [m.content for m in await b.history.aget_messages()]
        found += [i.value for i in await b.lg.asearch(("users",), query=query, limit=20)]
        found += [i and i.value for i in [await b.lg.aget(("users", "u1"), "key0")]]
        found += [await b.lg.alist_namespaces()]
        result = await b.li.aquery(VectorStoreQuery(query_str=query, similarity_top_k=20))
        found += [n.get_content() for n in result.nodes or []]
        found += [n.get_content() for n in await b.li.aget_nodes(["node0", "node1"])]
        found += [m.content for m in await b.chat.aget_messages(SESSION)]
        return found

    return run(reads())


def li_queries(tenant: Tenant, query: str, vector: list[float], memory: HybridMemory
               ) -> list[VectorStoreQuery]:
    modes = [VectorStoreQuery(query_str=query, similarity_top_k=20),
             VectorStoreQuery(query_embedding=vector, similarity_top_k=20),
             VectorStoreQuery(query_embedding=vector, similarity_top_k=5,
                              mode=VectorStoreQueryMode.MMR, mmr_threshold=0.5),
             VectorStoreQuery(query_str=query, query_embedding=vector, similarity_top_k=20,
                              mode=VectorStoreQueryMode.HYBRID, alpha=0.5),
             VectorStoreQuery(query_str=query, node_ids=["node0", "node1"], similarity_top_k=5),
             VectorStoreQuery(query_str=query, doc_ids=[SOURCE_DOC], similarity_top_k=20)]
    if isinstance(memory.backend, LexicalSearch):
        modes.append(VectorStoreQuery(query_str=query, similarity_top_k=20,
                                      mode=VectorStoreQueryMode.TEXT_SEARCH))
    return modes


@pytest.mark.parametrize("mode", MODES)
@settings(max_examples=ADAPTER_EXAMPLES, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(pair=tenant_pairs(), n_a=st.integers(2, 3), n_b=st.integers(0, 2),
       tag=st.sampled_from(TAGS))
def test_adapter_isolation(mode: str, hashing_memories: dict[str, HybridMemory],
                           pair: tuple[str, str], n_a: int, n_b: int, tag: str) -> None:
    memory = hashing_memories[mode]
    a_id, b_id, ma, mb = agents(pair)
    a, b = Tenant(memory, a_id, ma), Tenant(memory, b_id, mb)
    a.write(n_a, tag)
    if n_b:
        b.write(n_b, tag)
    before = a.contents()
    query = a.text(0)
    vector = memory.embedder.embed_query(query)
    a_docs = [f"doc{i}" for i in range(n_a)]

    # LangChain vector store: every search, and get_by_ids with A's ids
    found = [*b.lc.similarity_search(query, k=20, filter={"tag": tag}),
             *(d for d, _ in b.lc.similarity_search_with_score(query, k=20)),
             *(d for d, _ in b.lc.similarity_search_with_relevance_scores(query, k=20)),
             *b.lc.similarity_search_by_vector(vector, k=20),
             *b.lc.max_marginal_relevance_search(query, k=5, fetch_k=20),
             *b.lc.max_marginal_relevance_search_by_vector(vector, k=5, fetch_k=20),
             *b.lc.as_retriever(search_kwargs={"k": 20}).invoke(query)]
    no_marker([d.page_content for d in found] + [d.metadata for d in found], ma)
    assert [d.id for d in b.lc.get_by_ids(a_docs)] == [f"doc{i}" for i in range(min(n_a, n_b))]
    no_marker([d.page_content for d in b.lc.get_by_ids(a_docs)], ma)
    # LangChain chat history, same session id
    assert [m.content for m in b.history.messages] == ([f"{mb} hello", f"{mb} hi"] if n_b else [])
    # LangGraph store: same namespace and keys
    for i in range(n_a):
        item = b.lg.get(("users", "u1"), f"key{i}")
        assert item is None if i >= n_b else item is not None and item.value["owner"] == mb
    no_marker([i.value for i in b.lg.search(("users",), query=query, limit=20)], ma)
    no_marker([i.value for i in b.lg.search(("users",), filter={"tag": tag}, limit=20)], ma)
    assert b.lg.list_namespaces() == ([("users", "u1")] if n_b else [])
    # LlamaIndex vector store: every query mode, get_nodes with A's ids
    for q in li_queries(b, query, vector, memory):
        result = b.li.query(q)
        no_marker([n.get_content() for n in result.nodes or []], ma)
    got = b.li.get_nodes([f"node{i}" for i in range(n_a)])
    assert [n.node_id for n in got] == [f"node{i}" for i in range(min(n_a, n_b))]
    no_marker([n.get_content() for n in got] + [n.get_content() for n in b.li.get_nodes()], ma)
    # LlamaIndex chat stores: same chat key
    assert [m.content for m in b.chat.get_messages(SESSION)] == ([mb] if n_b else [])
    keys = sorted([LC_SESSION, SESSION, DB_KEY]) if n_b else []
    assert sorted(b.chat.get_keys()) == keys and sorted(run(b.db.get_keys())) == keys
    assert [m.content for m in run(b.db.get_messages(DB_KEY, status=None))] == \
        ([mb] if n_b else [])

    # the other read paths: retriever, tools, memory block, and the async twins
    no_marker(async_reads(b, query, vector, a_docs), ma)
    no_marker([d.page_content for d in
               AgentMemRetriever(memory=memory, agent_id=b_id, k=20).invoke(query)], ma)
    recall_tool = {t.name: t for t in memory_tools(memory, agent_id=b_id)}["recall"]
    no_marker([recall_tool.invoke({"query": query, "k": 20})], ma)
    block = EpisodicMemoryBlock(memory=memory, agent_id=b_id, k=20)
    no_marker([run(block.aget([ChatMessage(role=MessageRole.USER, content=query)]))], ma)

    # B deletes with A's ids, keys and sessions: A keeps everything
    b.lc.delete(a_docs)
    b.lc.delete()  # all of B's store
    b.history.clear()
    for i in range(n_a):
        b.lg.delete(("users", "u1"), f"key{i}")
    b.li.delete_nodes([f"node{i}" for i in range(n_a)])
    b.li.delete(SOURCE_DOC)
    b.li.clear()
    b.chat.delete_messages(SESSION)
    run(b.db.delete_messages(DB_KEY))
    assert memory.stats(b_id).total == 0 and memory.stats(b_id).turns == 0
    assert a.contents() == before
    assert len(before["lc"]) == n_a and len(before["lg"]) == n_a and len(before["li"]) == n_a
