"""The bad-input table: each case is one hostile call through one class, and what it must do.

A case raises a typed agentmem error (``error``) or is handled safely (``error=None``, and
``check`` asserts the documented result). Either way the store must be unchanged: the runner
in ``test_bad_input.py`` snapshots the agent before and after. Every agent is seeded with two
memories whose ids are ``"d"`` and ``"s"`` (so a bare string ``"ds"`` split into characters
would reach both) and one turn in session ``SEED_SESSION``.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from functools import cached_property
from typing import Any

from pydantic import ValidationError

from agentmem import HybridMemory, Memory
from agentmem.errors import (
    AgentMemError,
    DimensionMismatch,
    InvalidFilter,
    InvalidInput,
)
from agentmem.models import ChatTurn

DIM = 64
SEED_SESSION = "seed-session"
ALL_MODES = ("pgvector", "chroma", "hybrid")
PG_MODES = ("pgvector", "hybrid")
MB = "memory " * 150_000  # ~1 MB of text
LONG_WORD = "x" * 3000  # one "word" over PostgreSQL's 2,046-byte lexeme limit
UTC = timezone.utc
LATE = datetime(9999, 12, 31, 23, tzinfo=timezone(timedelta(hours=-5)))  # past 9999 in UTC
EARLY = datetime(1, 1, 1, 1, tzinfo=timezone(timedelta(hours=5)))  # before year 1 in UTC


def deep(n: int, leaf: Any = 1) -> dict[str, Any]:
    """A dict nested ``n`` levels deep (built without recursion)."""
    out: dict[str, Any] = {"v": leaf}
    for _ in range(n - 1):
        out = {"v": out}
    return out


def deep_filter(n: int) -> dict[str, Any]:
    """A filter of ``n`` nested ``$and`` clauses."""
    out: dict[str, Any] = {"topic": "x"}
    for _ in range(n):
        out = {"$and": [out, {"topic": "x"}]}
    return out


def vec(value: float = 0.1) -> list[float]:
    return [value] * DIM


@dataclass
class Ctx:
    """What a case can reach: the memory, a fresh seeded agent, and every adapter over it."""

    memory: HybridMemory
    agent: str
    mode: str

    @cached_property
    def lc_store(self) -> Any:
        from langchain_agentmem import AgentMemVectorStore

        return AgentMemVectorStore(self.memory, agent_id=self.agent)

    @cached_property
    def lc_history(self) -> Any:
        from langchain_agentmem import AgentMemChatMessageHistory

        return AgentMemChatMessageHistory(self.memory, agent_id=self.agent,
                                          session_id=SEED_SESSION)

    @cached_property
    def lc_retriever(self) -> Any:
        from langchain_agentmem import AgentMemRetriever

        return AgentMemRetriever(memory=self.memory, agent_id=self.agent)

    @cached_property
    def lc_tools(self) -> dict[str, Any]:
        from langchain_agentmem import memory_tools

        return {t.name: t for t in memory_tools(self.memory, agent_id=self.agent)}

    @cached_property
    def lg_store(self) -> Any:
        from langchain_agentmem import AgentMemStore

        return AgentMemStore(self.memory, agent_id=self.agent)

    @cached_property
    def li_store(self) -> Any:
        from llamaindex_agentmem import AgentMemVectorStore

        return AgentMemVectorStore(self.memory, agent_id=self.agent)

    @cached_property
    def li_chat(self) -> Any:
        from llamaindex_agentmem import AgentMemChatStore

        return AgentMemChatStore(self.memory, agent_id=self.agent)

    @cached_property
    def li_db_chat(self) -> Any:
        from llamaindex_agentmem import AgentMemDBChatStore

        return AgentMemDBChatStore(self.memory, agent_id=self.agent)

    @cached_property
    def li_block(self) -> Any:
        from llamaindex_agentmem import EpisodicMemoryBlock

        return EpisodicMemoryBlock(memory=self.memory, agent_id=self.agent)


@dataclass(frozen=True)
class Case:
    """One hostile call: ``call(ctx)`` must raise ``error`` or, with ``error=None``, return a
    value ``check`` accepts. ``prescribed``: ``error`` is the framework's own (its standard
    tests demand it), not agentmem's."""

    name: str
    surface: str
    call: Callable[..., Any]  # called as call(ctx); extra parameters bind loop values
    error: type[Exception] | None = InvalidInput
    check: Callable[[Any], bool] | None = None
    modes: tuple[str, ...] = ALL_MODES
    prescribed: bool = False


CASES: list[Case] = []


def case(name: str, surface: str, call: Callable[..., Any],
         error: type[Exception] | None = InvalidInput, check: Callable[[Any], bool] | None = None,
         modes: tuple[str, ...] = ALL_MODES, prescribed: bool = False) -> None:
    CASES.append(Case(name, surface, call, error, check, modes, prescribed))


# -- text: empty, whitespace, NUL, lone surrogates, size -------------------------------------

BAD_TEXTS: dict[str, Any] = {
    "empty": "", "whitespace": " \n\t ", "nul": "a\x00b", "surrogate": "caf\ud800e",
    "low-surrogate": "\udc80", "1MB": MB, "over-limit": "é" * (128 * 1024 + 1),
    "int": 123, "none": None, "bytes": b"abc",
}
for label, text in BAD_TEXTS.items():
    case(f"remember content {label}", "core", lambda c, t=text: c.memory.remember(t, c.agent))
    case(f"add_texts {label}", "lc_store", lambda c, t=text: c.lc_store.add_texts([t]))
for label in ("nul", "surrogate", "1MB", "over-limit"):
    text = BAD_TEXTS[label]
    if label != "surrogate":  # the tool's own argument schema refuses that one (below)
        case(f"lc remember tool {label}", "lc_tools",
             lambda c, t=text: c.lc_tools["remember"].invoke({"content": t}), error=None,
             check=lambda r: isinstance(r, str) and r.startswith("Not remembered"))
    case(f"add_turn content {label}", "core",
         lambda c, t=text: c.memory.add_turn(SEED_SESSION, c.agent, "user", t))
    case(f"lc history message {label}", "lc_history",
         lambda c, t=text: c.lc_history.add_user_message(t))
    case(f"li node text {label}", "li_store", lambda c, t=text: _li_add(c, t))
case("lc remember tool surrogate", "lc_tools",  # LangChain validates tool args with pydantic
     lambda c: c.lc_tools["remember"].invoke({"content": "\ud800"}), error=ValidationError,
     prescribed=True)
case("li chat message surrogate", "li_chat", lambda c: _li_chat(c, "hi \ud800"))
case("li db chat message surrogate", "li_db_chat",
     lambda c: asyncio.run(c.li_db_chat.add_message(SEED_SESSION, _msg("hi \ud800"))))
case("li db chat key nul", "li_db_chat",
     lambda c: asyncio.run(c.li_db_chat.add_message("k\x00", _msg("hi"))))
case("li db chat 1MB message", "li_db_chat",
     lambda c: asyncio.run(c.li_db_chat.add_message(SEED_SESSION, _msg(MB))))
case("li block put surrogate", "li_block",
     lambda c: asyncio.run(c.li_block.aput([_msg("episode \ud800")])))
case("li block put 1MB", "li_block", lambda c: asyncio.run(c.li_block.aput([_msg(MB)])))
case("li block get long conversation", "li_block",  # a long paste must not break recall
     lambda c: asyncio.run(c.li_block.aget([_msg(MB + " " + LONG_WORD + " seed")])),
     error=None, check=lambda r: isinstance(r, str) and "seed" in r)
case("li chat key surrogate", "li_chat", lambda c: _li_chat(c, "hi", key="k\ud800"))
case("li chat key nul", "li_chat", lambda c: _li_chat(c, "hi", key="k\x00"))
case("lc recall tool long word", "lc_tools",  # the tool reports it, as LangChain prescribes
     lambda c: c.lc_tools["recall"].invoke({"query": "x" * 300}), error=None,
     check=lambda r: isinstance(r, str) and r.startswith("Recall failed"))


def _li_add(c: Ctx, text: str, embedding: list[Any] | None = None, node_id: str = "n1") -> Any:
    from llama_index.core.schema import TextNode

    return c.li_store.add([TextNode(id_=node_id, text=text, embedding=embedding)])


def _msg(text: str) -> Any:
    from llama_index.core.llms import ChatMessage

    return ChatMessage(role="user", content=text)


def _li_chat(c: Ctx, text: str, key: str = SEED_SESSION) -> Any:
    return c.li_chat.add_message(key, _msg(text))


# -- ids, agents, sessions -----------------------------------------------------------------

BAD_IDS: dict[str, Any] = {"empty": "", "nul": "a\x00", "surrogate": "\ud800", "long": "i" * 257,
                           "int": 123, "blank": "   "}
for label, bad in BAD_IDS.items():
    case(f"remember id {label}", "core", lambda c, b=bad: c.memory.remember("x", c.agent, id=b))
    case(f"remember agent {label}", "core", lambda c, b=bad: c.memory.remember("x", b))
    case(f"recall agent {label}", "core", lambda c, b=bad: c.memory.recall("x", b))
    case(f"get id {label}", "core", lambda c, b=bad: c.memory.get(b, c.agent))
    case(f"history session {label}", "core", lambda c, b=bad: c.memory.history(b, c.agent))
for label in ("empty", "nul", "surrogate", "long"):
    bad = BAD_IDS[label]
    case(f"add_texts id {label}", "lc_store", lambda c, b=bad: c.lc_store.add_texts(["x"], ids=[b]))
    case(f"li node id {label}", "li_store", lambda c, b=bad: _li_add(c, "x", node_id=b))
    case(f"lc history session {label}", "lc_history",
         lambda c, b=bad: __import__("langchain_agentmem").AgentMemChatMessageHistory(
             c.memory, agent_id=c.agent, session_id=b).add_user_message("x"))
case("remember session surrogate", "core",
     lambda c: c.memory.remember("x", c.agent, session_id="\ud800"))
case("remember user nul", "core", lambda c: c.memory.remember("x", c.agent, user_id="u\x00"))
case("remember source_ids surrogate", "core",
     lambda c: c.memory.remember("x", c.agent, source_ids=["\udfff"]))
case("add_turn role empty", "core", lambda c: c.memory.add_turn(SEED_SESSION, c.agent, "", "x"))
case("history None", "core", lambda c: c.memory.history(None, c.agent))
case("clear_history None", "core", lambda c: c.memory.clear_history(None, c.agent))
case("get_many [None]", "core", lambda c: c.memory.get_many([None], c.agent))
case("get_many int", "core", lambda c: c.memory.get_many(123, c.agent))
case("get_many surrogate inside", "core", lambda c: c.memory.get_many(["d", "\ud800"], c.agent))
case("get_many bare string is one id", "core", lambda c: c.memory.get_many("ds", c.agent),
     error=None, check=lambda r: r == [])
case("get_many bare string finds it", "core", lambda c: c.memory.get_many("d", c.agent),
     error=None, check=lambda r: [m.id for m in r] == ["d"])
case("forget bare string is one id", "core", lambda c: c.memory.forget("ds", c.agent),
     error=None, check=lambda r: r == 0)
case("forget [None]", "core", lambda c: c.memory.forget([None], c.agent))
case("forget int", "core", lambda c: c.memory.forget(123, c.agent))
case("forget nothing named", "core", lambda c: c.memory.forget(agent_id=c.agent))
case("lc get_by_ids bare string is one id", "lc_store", lambda c: c.lc_store.get_by_ids("ds"),
     error=None, check=lambda r: r == [])
case("lc get_by_ids [None]", "lc_store", lambda c: c.lc_store.get_by_ids([None]))
case("lc delete bare string is one id", "lc_store", lambda c: c.lc_store.delete("ds"),
     error=None, check=lambda r: r is True)
case("lc delete [None]", "lc_store", lambda c: c.lc_store.delete([None]))
case("li get_nodes bare string is one id", "li_store", lambda c: c.li_store.get_nodes("ds"),
     error=None, check=lambda r: r == [])
case("li delete_nodes bare string is one id", "li_store",
     lambda c: c.li_store.delete_nodes("ds"), error=None, check=lambda r: r is None)
case("li delete_nodes nul id", "li_store", lambda c: c.li_store.delete_nodes(["d\x00"]),
     error=InvalidFilter)
case("set_expiry [None]", "core", lambda c: c.memory.set_expiry([None], c.agent, None),
     modes=PG_MODES)
case("links None", "core", lambda c: c.memory.links(None, c.agent), modes=PG_MODES)
case("link to itself", "core", lambda c: c.memory.link("d", "d", c.agent), modes=PG_MODES)
case("link relation injection", "core",
     lambda c: c.memory.link("d", "s", c.agent, relation="x'; DROP TABLE agentmem_memories;--"),
     modes=PG_MODES)
case("related depth 0", "core", lambda c: c.memory.related("d", c.agent, depth=0), modes=PG_MODES)

# -- metadata: non-JSON, NUL, surrogates, size, key count, depth ----------------------------

BAD_METADATA: dict[str, Any] = {
    "object value": {"k": object()}, "set value": {"k": {1, 2}}, "nan": {"k": math.nan},
    "inf": {"k": math.inf}, "int key": {1: "a"}, "nul key": {"a\x00": 1},
    "surrogate key": {"\ud800": 1}, "nul value": {"k": "a\x00"},
    "surrogate value": {"k": ["ok", {"x": "\udc00"}]}, "5000 deep": deep(5000),
    "33 deep": deep(33), "6000 keys": {f"k{i}": i for i in range(6000)},
    "257 keys": {f"k{i}": i for i in range(257)}, "300 KB": {"k": "v" * 300_000},
    "a list": [1, 2], "bytes value": {"k": b"x"}, "datetime value": {"k": datetime.now(UTC)},
    "tuple value": {"k": (1, 2)},
}
for label, meta in BAD_METADATA.items():
    case(f"remember metadata {label}", "core",
         lambda c, m=meta: c.memory.remember("x", c.agent, metadata=m))
for label in ("nan", "nul key", "surrogate value", "5000 deep", "6000 keys", "300 KB"):
    meta = BAD_METADATA[label]
    case(f"add_texts metadata {label}", "lc_store",
         lambda c, m=meta: c.lc_store.add_texts(["x"], metadatas=[m]))
    case(f"lg put value {label}", "lg_store",
         lambda c, m=meta: c.lg_store.put(("ns",), "key", m))
for label in ("nan", "nul key", "surrogate value", "5000 deep", "33 deep", "300 KB"):
    meta = BAD_METADATA[label]
    case(f"add_turn extra {label}", "core",
         lambda c, m=meta: c.memory.add_turn(SEED_SESSION, c.agent, "user", "x", extra=m))
case("lg put ttl past 9999", "lg_store",
     lambda c: c.lg_store.put(("ns",), "key", {"v": 1}, ttl=1e15))
case("lg put non-dict value", "lg_store", lambda c: c.lg_store.put(("ns",), "key", ["v"]))
case("lg put nul namespace", "lg_store", lambda c: c.lg_store.put(("n\x00",), "key", {"v": 1}),
     error=__import__("langgraph.store.base", fromlist=["x"]).InvalidNamespaceError,
     prescribed=True)  # BaseStore.put checks namespaces itself
case("lg put surrogate key", "lg_store", lambda c: c.lg_store.put(("ns",), "\ud800", {"v": 1}))
case("lg search 1MB query", "lg_store", lambda c: c.lg_store.search(("ns",), query=MB))
case("update metadata 5000 deep", "core",
     lambda c: c.memory.update("d", c.agent, metadata=deep(5000)))
case("update content nul", "core", lambda c: c.memory.update("d", c.agent, content="\x00"))
case("update id int", "core", lambda c: c.memory.update(123, c.agent, content="x"))

# -- numbers, enums, datetimes ----------------------------------------------------------------

BAD_FIELDS: dict[str, dict[str, Any]] = {
    "importance nan": {"importance": math.nan}, "importance 1.5": {"importance": 1.5},
    "importance str": {"importance": "high"}, "importance True": {"importance": True},
    "type bogus": {"memory_type": "bogus"}, "tier bogus": {"tier": "eternal"},
    "expires naive": {"expires_at": datetime(2030, 1, 1)}, "expires past 9999": {"expires_at": LATE},
    "expires before 1": {"expires_at": EARLY}, "expires text": {"expires_at": "tomorrow"},
}
for label, kw in BAD_FIELDS.items():
    case(f"remember {label}", "core", lambda c, k=kw: c.memory.remember("x", c.agent, **k))
case("set_expiry past 9999", "core", lambda c: c.memory.set_expiry(["d"], c.agent, LATE),
     modes=PG_MODES)
case("set_expiry naive", "core",
     lambda c: c.memory.set_expiry(["d"], c.agent, datetime(2030, 1, 1)), modes=PG_MODES)
case("remember expires at year 1 is stored", "core",  # a valid extreme: then forgotten
     lambda c: c.memory.forget(c.memory.remember(
         "x", c.agent, expires_at=datetime(1, 1, 2, tzinfo=UTC)).id, c.agent),
     error=None, check=lambda r: r in (0, 1))
case("cleanup batch_size 0", "core", lambda c: c.memory.cleanup(c.agent, batch_size=0))

# -- k, limit, offset -------------------------------------------------------------------------

for label, k in {"0": 0, "-1": -1, "True": True, "huge": 10**9, "str": "5", "float": 2.5}.items():
    case(f"recall k {label}", "core", lambda c, k=k: c.memory.recall("x", c.agent, k=k))
for label, k in {"0": 0, "-1": -1, "True": True, "huge": 10**9}.items():
    case(f"lc similarity_search k {label}", "lc_store",
         lambda c, k=k: c.lc_store.similarity_search("x", k=k))
case("lc retriever k 0", "lc_retriever", lambda c: c.lc_retriever.invoke("x", k=0))
case("lc mmr k 0", "lc_store", lambda c: c.lc_store.max_marginal_relevance_search("x", k=0))
case("search_text k 0", "core", lambda c: c.memory.search_text("x", c.agent, k=0), modes=PG_MODES)
case("history limit True", "core", lambda c: c.memory.history(SEED_SESSION, c.agent, limit=True))
case("history limit 0", "core", lambda c: c.memory.history(SEED_SESSION, c.agent, limit=0))
case("memories limit -1", "core", lambda c: c.memory.memories(c.agent, limit=-1))
case("memories limit True", "core", lambda c: c.memory.memories(c.agent, limit=True))
case("memories offset str", "core", lambda c: c.memory.memories(c.agent, offset="1"))
case("recall lexical_weight 2", "core", lambda c: c.memory.recall("x", c.agent, lexical_weight=2.0))
case("recall memory_types empty", "core", lambda c: c.memory.recall("x", c.agent, memory_types=[]))
case("recall memory_types bogus", "core",
     lambda c: c.memory.recall("x", c.agent, memory_types="bogus"))

# -- queries ------------------------------------------------------------------------------------

for label, q in {"empty": "", "whitespace": "  ", "none": None, "nul": "a\x00", "surrogate": "\ud800",
                 "1MB": MB, "long word": LONG_WORD, "int": 5}.items():
    case(f"recall query {label}", "core", lambda c, q=q: c.memory.recall(q, c.agent))
for label in ("empty", "surrogate", "1MB", "long word"):
    q = {"empty": "", "surrogate": "\ud800", "1MB": MB, "long word": LONG_WORD}[label]
    case(f"lc similarity_search query {label}", "lc_store",
         lambda c, q=q: c.lc_store.similarity_search(q))
    case(f"lc retriever query {label}", "lc_retriever", lambda c, q=q: c.lc_retriever.invoke(q))
case("search_text 1MB", "core", lambda c: c.memory.search_text(MB, c.agent), modes=PG_MODES)
case("search_text long word", "core", lambda c: c.memory.search_text(LONG_WORD, c.agent),
     modes=PG_MODES)

# -- vectors: dimension, NaN/inf, element types, zero ---------------------------------------

BAD_VECTORS: dict[str, tuple[Any, type[Exception]]] = {
    "short": ([0.1] * (DIM - 1), DimensionMismatch), "long": ([0.1] * (DIM + 1), DimensionMismatch),
    "nan": (vec(math.nan), InvalidInput), "inf": (vec(math.inf), InvalidInput),
    "float32 overflow": (vec(1e40), InvalidInput), "strings": (["a"] * DIM, InvalidInput),
    "numeric strings": (["0.1"] * DIM, InvalidInput), "nested": ([[0.1]] * DIM, InvalidInput),
    "none items": ([None] * DIM, InvalidInput), "bools": ([True] * DIM, InvalidInput),
    "bool among floats": ([True, *vec()[1:]], InvalidInput), "zero": (vec(0.0), InvalidInput),
    "empty": ([], DimensionMismatch), "a string": ("abc", InvalidInput),
}
for label, (bad, err) in BAD_VECTORS.items():
    case(f"remember embedding {label}", "core",
         lambda c, b=bad: c.memory.remember("x", c.agent, embedding=b), error=err)
    case(f"recall_by_vector {label}", "core",
         lambda c, b=bad: c.memory.recall_by_vector(b, c.agent), error=err)
for label in ("short", "nan", "strings", "zero", "nested"):
    bad, err = BAD_VECTORS[label]
    case(f"lc search_by_vector {label}", "lc_store",
         lambda c, b=bad: c.lc_store.similarity_search_by_vector(b), error=err)
    if label not in ("strings", "nested"):  # TextNode itself refuses those
        case(f"li node embedding {label}", "li_store", lambda c, b=bad: _li_add(c, "x", b),
             error=err)
    case(f"li query embedding {label}", "li_store", lambda c, b=bad: _li_query(c, b), error=err)
case("recall_by_vector lexical_query surrogate", "core",
     lambda c: c.memory.recall_by_vector(vec(), c.agent, lexical_query="\ud800"))
case("recall_by_vector lexical_query 1MB", "core",
     lambda c: c.memory.recall_by_vector(vec(), c.agent, lexical_query=MB))
case("recall_by_vector None", "core", lambda c: c.memory.recall_by_vector(None, c.agent))


def _li_query(c: Ctx, embedding: Any, k: int = 2) -> Any:
    from llama_index.core.vector_stores.types import VectorStoreQuery

    return c.li_store.query(VectorStoreQuery(query_embedding=embedding, similarity_top_k=k))


case("li query top_k 0", "li_store", lambda c: _li_query(c, vec(), k=0))

# -- batches: wrong row types, duplicates, unvalidated rows, partial failure --------------------


def _row(c: Ctx, id: str, content: str = "fine") -> Memory:
    return Memory(id=id, content=content, agent_id=c.agent)


case("remember_many dict row", "core",
     lambda c: c.memory.remember_many([{"content": "x", "agent_id": c.agent}]))
case("remember_many None row", "core", lambda c: c.memory.remember_many([None]))
case("remember_many a string", "core", lambda c: c.memory.remember_many("abc"))
case("remember_many a Memory", "core", lambda c: c.memory.remember_many(_row(c, "m1")))
case("remember_many duplicate ids", "core",
     lambda c: c.memory.remember_many([_row(c, "dup", "one"), _row(c, "dup", "two")]))
case("remember_many bad last row", "core",
     lambda c: c.memory.remember_many([_row(c, "ok1"), Memory.model_construct(
         id="ok2", content="a\x00", agent_id=c.agent)]))
case("model_construct nul content", "core", lambda c: c.memory.remember_many(
    [Memory.model_construct(id="mc", content="a\x00", agent_id=c.agent)]))
case("model_construct 6000 keys", "core", lambda c: c.memory.remember_many(
    [Memory.model_construct(id="mc", content="x", agent_id=c.agent,
                            metadata={f"k{i}": i for i in range(6000)})]))
case("model_construct no agent", "core",
     lambda c: c.memory.remember_many([Memory.model_construct(id="mc", content="x")]))
case("model_construct naive time", "core", lambda c: c.memory.remember_many(
    [Memory.model_construct(id="mc", content="x", agent_id=c.agent,
                            created_at=datetime(2020, 1, 1))]))
case("remember_many embeddings count", "core",
     lambda c: c.memory.remember_many([_row(c, "e1")], embeddings=[vec(), vec()]))
case("remember_many ragged embeddings", "core",
     lambda c: c.memory.remember_many([_row(c, "e1"), _row(c, "e2")],
                                      embeddings=[vec(), vec()[:10]]), error=DimensionMismatch)
case("add_turns dict", "core", lambda c: c.memory.add_turns(
    [{"session_id": SEED_SESSION, "agent_id": c.agent, "role": "user"}]))
case("add_turns a string", "core", lambda c: c.memory.add_turns("abc"))
case("add_turns model_construct", "core", lambda c: c.memory.add_turns(
    [ChatTurn.model_construct(session_id=SEED_SESSION, agent_id=c.agent, role="user",
                              content="\x00")]))
case("add_texts duplicate ids", "lc_store",
     lambda c: c.lc_store.add_texts(["a", "b"], ids=["same", "same"]))
case("add_texts ids count", "lc_store", lambda c: c.lc_store.add_texts(["a", "b"], ids=["one"]))
case("li duplicate node ids", "li_store", lambda c: c.li_store.add(
    [__import__("llama_index.core.schema", fromlist=["TextNode"]).TextNode(id_="n", text=t)
     for t in ("a", "b")]))

# -- filters: operators, field names, injection, depth, values ---------------------------------

BAD_FILTERS: dict[str, Any] = {
    "unknown op": {"topic": {"$regex": ".*"}}, "unknown logical": {"$not": {"topic": "x"}},
    "field quote": {"a'b": 1}, "field double quote": {'a"b': 1},
    "field semicolon": {"a; DROP TABLE agentmem_memories; --": 1},
    "field parens": {"topic) OR (1=1": 1}, "field space": {"to pic": 1}, "field empty": {"": 1},
    "field 65 chars": {"f" * 65: 1}, "value nul": {"topic": "a\x00"},
    "value surrogate": {"topic": "\ud800"}, "5000 deep": deep_filter(5000),
    "40 deep": deep_filter(40), "not a dict": ["topic"], "empty $in": {"topic": {"$in": []}},
    "mixed $in": {"topic": {"$in": ["a", 1]}}, "$gt string": {"n": {"$gt": "a"}},
    "int over 64 bits": {"n": 2**70}, "inf": {"n": {"$lt": math.inf}}, "nan": {"n": math.nan},
    "naive time": {"created_at": {"$gt": datetime(2020, 1, 1)}},
    "time past 9999": {"created_at": {"$lt": LATE}}, "$and not list": {"$and": {"topic": "x"}},
    "value a dict": {"topic": {"$eq": {"x": 1}}}, "id number": {"id": {"$eq": 5}},
}
for label, flt in BAD_FILTERS.items():
    case(f"recall filter {label}", "core",
         lambda c, f=flt: c.memory.recall("x", c.agent, filter=f), error=InvalidFilter)
for label in ("unknown op", "field semicolon", "value nul", "5000 deep", "int over 64 bits"):
    flt = BAD_FILTERS[label]
    case(f"forget filter {label}", "core",
         lambda c, f=flt: c.memory.forget(agent_id=c.agent, filter=f), error=InvalidFilter)
    case(f"lc search filter {label}", "lc_store",
         lambda c, f=flt: c.lc_store.similarity_search("x", filter=f), error=InvalidFilter)
    case(f"lc delete filter {label}", "lc_store",
         lambda c, f=flt: c.lc_store.delete(filter=f), error=InvalidFilter)
    case(f"memories filter {label}", "core",
         lambda c, f=flt: c.memory.memories(c.agent, filter=f), error=InvalidFilter)
case("lg search filter nul", "lg_store",
     lambda c: c.lg_store.search(("ns",), filter={"k": "a\x00"}), error=InvalidFilter)
INJECTIONS = ["x' OR '1'='1", "x'); DELETE FROM agentmem_memories; --", "%s", "%(x)s", "\\'",
              "$where", "1; DROP TABLE agentmem_turns"]
for i, value in enumerate(INJECTIONS):
    case(f"filter value injection {i}", "core",
         lambda c, v=value: c.memory.memories(c.agent, filter={"topic": v}), error=None,
         check=lambda r: r == [])
    case(f"forget filter injection {i}", "core",
         lambda c, v=value: c.memory.forget(agent_id=c.agent, filter={"topic": {"$in": [v]}}),
         error=None, check=lambda r: r == 0)
case("filter field SQL keyword", "core",
     lambda c: c.memory.memories(c.agent, filter={"SELECT": 1, "DROP": {"$ne": 2}}), error=None,
     check=lambda r: r == [])
case("query injection", "core", lambda c: c.memory.search_text(
    "x' OR 1=1; DROP TABLE agentmem_memories; -- | & ! <->", c.agent), error=None,
    check=lambda r: r == [], modes=PG_MODES)

for c_ in CASES:
    assert c_.error is None or c_.prescribed or issubclass(c_.error, AgentMemError), c_.name
