"""Concurrency: 8 threads and 8 asyncio tasks writing and reading one agent at once.

Through the core API (sync and async) and every adapter, in every mode: exact final
counts, no duplicate ids, every acknowledged write readable, no hang (every join is
bounded and a timeout fails the test), and the connection pool usable after the storm.
Also a server's pattern of one ``HybridMemory`` per request, built and closed from many
threads: no thread is left behind.
"""

from __future__ import annotations

import asyncio
import os
import random
import threading
import time
import uuid
from collections.abc import Callable, Coroutine, Iterator
from functools import partial
from typing import Any, TypeVar

import pytest
from langchain_core.messages import AIMessage, HumanMessage
from llama_index.core.base.llms.types import ChatMessage, MessageRole
from llama_index.core.schema import TextNode
from llama_index.core.vector_stores.types import VectorStoreQuery

from agentmem import (
    ChatTurn,
    HashingEmbedder,
    HybridMemory,
    Memory,
    MemoryType,
    PostgresBackend,
)
from agentmem.backends.postgres import PostgresConfig
from langchain_agentmem import AgentMemChatMessageHistory
from langchain_agentmem import AgentMemVectorStore as LCVectorStore
from langchain_agentmem.store import AgentMemStore
from llamaindex_agentmem import AgentMemChatStore
from llamaindex_agentmem import AgentMemVectorStore as LIVectorStore
from tests.conftest import DIM, MODES, make_memory

T = TypeVar("T")

WORKERS = 8  # threads, and asyncio tasks
SINGLES = 4  # remember() calls per worker
BATCH = 6  # memories per remember_many() call
FORGOTTEN = 2  # of each worker's batch, forgotten again
TURNS = 4  # chat turns per worker (one session each)
TIMEOUT = 180.0  # generous: a hang fails after this, it never blocks the suite
FRESH_CALL_TIMEOUT = 30.0  # after a storm, one more call must finish within this


def run_threads(targets: list[Callable[[], T]], timeout: float = TIMEOUT) -> list[T]:
    """Run each target on its own daemon thread, all at once; fail if any is still
    running after ``timeout`` (a deadlock or an exhausted pool), re-raise any error."""
    results: list[Any] = [None] * len(targets)
    errors: list[BaseException] = []
    start = threading.Barrier(len(targets))

    def body(i: int, target: Callable[[], T]) -> None:
        try:
            start.wait(timeout)
            results[i] = target()
        except BaseException as exc:  # handed to the test thread below
            errors.append(exc)

    threads = [threading.Thread(target=body, args=(i, t), daemon=True, name=f"storm-{i}")
               for i, t in enumerate(targets)]
    for t in threads:
        t.start()
    deadline = time.monotonic() + timeout
    for t in threads:
        t.join(max(0.0, deadline - time.monotonic()))
    stuck = [t.name for t in threads if t.is_alive()]
    if stuck:
        pytest.fail(f"{len(stuck)} of {len(threads)} threads still running after {timeout} s "
                    f"(deadlock or pool exhaustion): {stuck}")
    if errors:
        raise errors[0]
    return results


async def run_tasks(coros: list[Coroutine[Any, Any, T]], timeout: float = TIMEOUT) -> list[T]:
    """Await all coroutines at once as tasks; fail (not hang) after ``timeout``."""
    try:
        return await asyncio.wait_for(asyncio.gather(*coros), timeout)
    except TimeoutError:
        pytest.fail(f"{len(coros)} tasks not done after {timeout} s (deadlock or pool "
                    "exhaustion)")


def fresh_call(memory: HybridMemory, agent: str) -> int:
    """One more call after the storm, on a thread of its own with a bounded join."""
    [stats] = run_threads([partial(memory.stats, agent)], FRESH_CALL_TIMEOUT)
    return stats.total


def agent_name(tag: str) -> str:
    return f"conc-{tag}-{uuid.uuid4().hex[:10]}"


STORM_MODES = MODES


@pytest.fixture(params=STORM_MODES)
def own_memory(request: pytest.FixtureRequest, pg_url: str, chroma_url: str
               ) -> Iterator[HybridMemory]:
    """A memory of this test's own in each mode (closed at the end)."""
    memory = make_memory(request.param, pg_url, chroma_url)
    yield memory
    memory.close()


# -- the core API -----------------------------------------------------------------------------


def _batch(agent: str, w: int) -> list[Memory]:
    return [Memory(id=f"w{w}-b{j}", agent_id=agent, content=f"worker {w} batch note {j} about "
                   f"{random.choice(['tea', 'trains', 'tennis', 'tulips'])}",
                   memory_type=MemoryType.SEMANTIC, metadata={"worker": w, "j": j})
            for j in range(BATCH)]


def _turns(agent: str, w: int) -> list[ChatTurn]:
    return [ChatTurn(session_id=f"s{w}", agent_id=agent, role="user" if t % 2 == 0 else "ai",
                     content=f"worker {w} turn {t}") for t in range(TURNS)]


def _expected_ids(w: int) -> set[str]:
    return {f"w{w}-r{j}" for j in range(SINGLES)} | {f"w{w}-b{j}" for j in range(FORGOTTEN, BATCH)}


def core_worker(memory: HybridMemory, agent: str, w: int) -> list[str]:
    """Writes and reads of one worker; returns the ids it was told are stored."""
    acked = []
    for j in range(SINGLES):
        acked.append(memory.remember(f"worker {w} single note {j}", agent, id=f"w{w}-r{j}",
                                     metadata={"worker": w}).id)
        assert all(h.memory.agent_id == agent for h in memory.recall(f"note {j}", agent, k=5))
    acked += [m.id for m in memory.remember_many(_batch(agent, w))]
    memory.add_turns(_turns(agent, w))
    memory.update(f"w{w}-r0", agent, content=f"worker {w} single note 0, updated")
    forgotten = memory.forget([f"w{w}-b{j}" for j in range(FORGOTTEN)], agent)
    assert forgotten == FORGOTTEN
    mine = memory.memories(agent, filter={"worker": w})
    assert {m.id for m in mine} >= _expected_ids(w)  # read-your-writes under contention
    memory.recall_by_vector(memory.embedder.embed_query("tea"), agent, k=3)
    return acked


async def core_task(memory: HybridMemory, agent: str, w: int) -> list[str]:
    """The async twin of :func:`core_worker`."""
    acked = []
    for j in range(SINGLES):
        acked.append((await memory.aremember(f"worker {w} single note {j}", agent,
                                             id=f"w{w}-r{j}", metadata={"worker": w})).id)
        hits = await memory.arecall(f"note {j}", agent, k=5)
        assert all(h.memory.agent_id == agent for h in hits)
    acked += [m.id for m in await memory.aremember_many(_batch(agent, w))]
    await memory.aadd_turns(_turns(agent, w))
    await memory.aupdate(f"w{w}-r0", agent, content=f"worker {w} single note 0, updated")
    assert await memory.aforget([f"w{w}-b{j}" for j in range(FORGOTTEN)], agent) == FORGOTTEN
    mine = await memory.amemories(agent, filter={"worker": w})
    assert {m.id for m in mine} >= _expected_ids(w)
    await memory.arecall_by_vector(await memory.embedder.aembed_query("tea"), agent, k=3)
    return acked


def check_core(memory: HybridMemory, agent: str, acked: list[list[str]]) -> None:
    """Exact counts, unique ids, every acknowledged write readable, updates kept."""
    expected = set().union(*(_expected_ids(w) for w in range(WORKERS)))
    assert all(len(a) == SINGLES + BATCH for a in acked)
    stored = memory.memories(agent)
    ids = [m.id for m in stored]
    assert len(ids) == len(set(ids)), "duplicate ids"
    assert set(ids) == expected
    assert len(ids) == WORKERS * (SINGLES + BATCH - FORGOTTEN)
    read = memory.get_many(sorted(expected), agent)
    assert [m.id for m in read] == sorted(expected)
    for w in range(WORKERS):
        assert memory.get(f"w{w}-r0", agent).content == f"worker {w} single note 0, updated"
        history = memory.history(f"s{w}", agent)
        assert [t.content for t in history] == [f"worker {w} turn {t}" for t in range(TURNS)]
    assert sorted(memory.sessions(agent)) == sorted(f"s{w}" for w in range(WORKERS))
    stats = memory.stats(agent)
    assert (stats.total, stats.turns, stats.sessions) == (len(expected), WORKERS * TURNS, WORKERS)
    memory.flush_index(agent)  # hybrid: the Chroma index catches up, nothing left queued
    assert memory.stats(agent).pending_index == 0
    assert fresh_call(memory, agent) == len(expected)


def test_core_threads(own_memory: HybridMemory) -> None:
    agent = agent_name("core")
    acked = run_threads([partial(core_worker, own_memory, agent, w) for w in range(WORKERS)])
    check_core(own_memory, agent, acked)


async def test_core_tasks(own_memory: HybridMemory) -> None:
    agent = agent_name("acore")
    acked = await run_tasks([core_task(own_memory, agent, w) for w in range(WORKERS)])
    check_core(own_memory, agent, acked)


async def test_threads_and_tasks_together(own_memory: HybridMemory) -> None:
    """8 threads on the sync API and 8 tasks on the async API, on one agent at once."""
    agent = agent_name("mixed")
    workers: list[Callable[[], list[str]]] = [partial(core_worker, own_memory, agent, w)
                                              for w in range(WORKERS)]
    threads = asyncio.create_task(asyncio.to_thread(run_threads, workers))
    acked_tasks = await run_tasks([core_task(own_memory, agent + "-async", w)
                                   for w in range(WORKERS)])
    acked_threads = await asyncio.wait_for(threads, TIMEOUT)
    check_core(own_memory, agent, acked_threads)
    check_core(own_memory, agent + "-async", acked_tasks)


def test_small_pool_is_shared_not_exhausted(pg_url: str) -> None:
    """8 threads and a pool of 2 connections: callers wait their turn, none is stranded."""
    memory = HybridMemory(embedder=HashingEmbedder(DIM),
                          postgres=PostgresBackend(PostgresConfig(pg_url, pool_max=2)))
    memory.init()
    try:
        agent = agent_name("pool")
        acked = run_threads([partial(core_worker, memory, agent, w) for w in range(WORKERS)])
        check_core(memory, agent, acked)
    finally:
        memory.close()


# -- the adapters -----------------------------------------------------------------------------

LC_TEXTS, LG_PUTS, LI_NODES, CHAT = 4, 3, 4, 3


class Adapters:
    """One of each adapter class, each on its own agent of one memory."""

    def __init__(self, memory: HybridMemory) -> None:
        self.memory = memory
        self.agents = {name: agent_name(name) for name in ("lcvs", "lch", "lg", "livs", "lich")}
        self.lc = LCVectorStore(memory, agent_id=self.agents["lcvs"])
        self.lg = AgentMemStore(memory, agent_id=self.agents["lg"], index={"fields": ["text"]})
        self.li = LIVectorStore(memory, agent_id=self.agents["livs"])
        self.chat = AgentMemChatStore(memory, agent_id=self.agents["lich"])

    def history(self, w: int) -> AgentMemChatMessageHistory:
        return AgentMemChatMessageHistory(self.memory, agent_id=self.agents["lch"],
                                          session_id=f"s{w}")

    @staticmethod
    def lc_ids(w: int) -> list[str]:
        return [f"lc-{w}-{j}" for j in range(LC_TEXTS)]

    @staticmethod
    def li_nodes(w: int) -> list[TextNode]:
        return [TextNode(id_=f"li-{w}-{j}", text=f"worker {w} node {j} on rivers")
                for j in range(LI_NODES)]

    @staticmethod
    def messages(w: int) -> list[HumanMessage | AIMessage]:
        return [HumanMessage(f"w{w} hello"), AIMessage(f"w{w} hi"),
                HumanMessage(f"w{w} more"), AIMessage(f"w{w} sure")]

    def work(self, w: int) -> None:
        texts = [f"worker {w} text {j} on mountains" for j in range(LC_TEXTS)]
        assert self.lc.add_texts(texts, [{"w": w}] * LC_TEXTS, ids=self.lc_ids(w)) == self.lc_ids(w)
        assert len(self.lc.similarity_search("mountains", k=3)) <= 3
        self.history(w).add_messages(self.messages(w)[:2])
        self.history(w).add_messages(self.messages(w)[2:])
        for j in range(LG_PUTS):
            self.lg.put(("users", f"u{w}"), f"k{j}", {"text": f"worker {w} prefers {j}", "w": w})
        assert all(i.namespace[0] == "users" for i in self.lg.search(("users",), query="prefers"))
        assert self.li.add(self.li_nodes(w)) == [n.node_id for n in self.li_nodes(w)]
        self.li.query(VectorStoreQuery(query_str="rivers", similarity_top_k=3))
        for j in range(CHAT):
            self.chat.add_message(f"k{w}", ChatMessage(role=MessageRole.USER, content=f"{w}.{j}"))

    async def awork(self, w: int) -> None:
        texts = [f"worker {w} text {j} on mountains" for j in range(LC_TEXTS)]
        ids = await self.lc.aadd_texts(texts, [{"w": w}] * LC_TEXTS, ids=self.lc_ids(w))
        assert ids == self.lc_ids(w)
        assert len(await self.lc.asimilarity_search("mountains", k=3)) <= 3
        await self.history(w).aadd_messages(self.messages(w)[:2])
        await self.history(w).aadd_messages(self.messages(w)[2:])
        for j in range(LG_PUTS):
            await self.lg.aput(("users", f"u{w}"), f"k{j}",
                               {"text": f"worker {w} prefers {j}", "w": w})
        found = await self.lg.asearch(("users",), query="prefers")
        assert all(i.namespace[0] == "users" for i in found)
        ids = await self.li.async_add(self.li_nodes(w))
        assert ids == [n.node_id for n in self.li_nodes(w)]
        await self.li.aquery(VectorStoreQuery(query_str="rivers", similarity_top_k=3))
        for j in range(CHAT):
            await self.chat.async_add_message(f"k{w}",
                                              ChatMessage(role=MessageRole.USER, content=f"{w}.{j}"))

    def check(self) -> None:
        """Every adapter holds exactly what the workers wrote, each id once."""
        memory, agents = self.memory, self.agents
        lc_ids = [i for w in range(WORKERS) for i in self.lc_ids(w)]
        assert [d.id for d in self.lc.get_by_ids(lc_ids)] == lc_ids
        assert len(memory.memories(agents["lcvs"])) == WORKERS * LC_TEXTS
        for w in range(WORKERS):
            got = [m.content for m in self.history(w).messages]
            assert got == [m.content for m in self.messages(w)]
            items = self.lg.search(("users", f"u{w}"), limit=10)
            assert sorted(i.key for i in items) == [f"k{j}" for j in range(LG_PUTS)]
            assert [m.content for m in self.chat.get_messages(f"k{w}")] == \
                [f"{w}.{j}" for j in range(CHAT)]
        assert len(memory.memories(agents["lg"])) == WORKERS * LG_PUTS
        assert len(self.lg.list_namespaces(prefix=("users",))) == WORKERS
        li_ids = [n.node_id for w in range(WORKERS) for n in self.li_nodes(w)]
        assert [n.node_id for n in self.li.get_nodes(li_ids)] == li_ids
        assert len(self.li.get_nodes()) == WORKERS * LI_NODES
        assert sorted(self.chat.get_keys()) == sorted(f"k{w}" for w in range(WORKERS))
        assert memory.stats(agents["lch"]).turns == WORKERS * len(self.messages(0))
        for name, agent in agents.items():
            ids = [m.id for m in memory.memories(agent)]
            assert len(ids) == len(set(ids)), f"duplicate ids in {name}"
        assert fresh_call(memory, agents["lcvs"]) == WORKERS * LC_TEXTS


def test_adapters_threads(own_memory: HybridMemory) -> None:
    adapters = Adapters(own_memory)
    run_threads([partial(adapters.work, w) for w in range(WORKERS)])
    adapters.check()


async def test_adapters_tasks(own_memory: HybridMemory) -> None:
    adapters = Adapters(own_memory)
    await run_tasks([adapters.awork(w) for w in range(WORKERS)])
    adapters.check()


# -- contention on the same rows --------------------------------------------------------------


@pytest.mark.parametrize("mode", MODES)
def test_same_ids_in_different_orders(mode: str, pg_url: str, chroma_url: str) -> None:
    """8 writers upserting the same 30 ids, each in its own order: every call succeeds
    and each id ends up once, holding one of the versions written."""
    memory = make_memory(mode, pg_url, chroma_url)
    try:
        agent = agent_name("same")
        ids = [f"shared-{i}" for i in range(30)]

        def writer(w: int) -> None:
            order = ids[:]
            random.Random(w).shuffle(order)
            for _ in range(3):
                memory.remember_many([Memory(id=i, agent_id=agent, content=f"{i} by {w}")
                                      for i in order])

        run_threads([partial(writer, w) for w in range(WORKERS)])
        stored = memory.memories(agent)
        assert sorted(m.id for m in stored) == sorted(ids)
        assert all(m.content.startswith(f"{m.id} by ") for m in stored)
    finally:
        memory.close()


# -- one memory per request -------------------------------------------------------------------


# The shared loop's default executor (Chroma calls) starts workers lazily, up to this many.
EXECUTOR_CAP = min(32, (os.cpu_count() or 1) + 4)


def _new_threads(baseline: dict[int | None, str]) -> list[threading.Thread]:
    """Threads not running at the baseline, but for executor workers under the cap."""
    return [t for t in threading.enumerate()
            if t.ident not in baseline and not t.name.startswith("asyncio_")]


@pytest.mark.parametrize("mode", MODES)
def test_memory_per_request_leaks_no_thread(mode: str, pg_url: str, chroma_url: str) -> None:
    """Build, use and close a HybridMemory per 'request', 8 requests at a time, 6 rounds.

    The first round starts what a process starts once (the shared loop, its executor
    workers, library singletons such as tqdm's monitor); after the other five the thread
    count is back to what it was after the first: nothing is left per memory."""
    agent = agent_name("req")

    def request(w: int) -> int:
        with make_memory(mode, pg_url, chroma_url) as memory:
            memory.remember(f"request {w}", agent)
            return len(memory.recall("request", agent, k=3))

    def round_of_requests() -> None:
        assert all(n >= 1 for n in run_threads([partial(request, w) for w in range(WORKERS)]))

    round_of_requests()
    baseline = {t.ident: t.name for t in threading.enumerate()}
    for _ in range(5):
        round_of_requests()
    deadline = time.monotonic() + 10
    extra = _new_threads(baseline)
    while extra and time.monotonic() < deadline:
        time.sleep(0.1)
        extra = _new_threads(baseline)
    assert not extra, f"threads left behind: {[t.name for t in extra]}"
    workers = [t for t in threading.enumerate() if t.name.startswith("asyncio_")]
    assert len(workers) <= EXECUTOR_CAP
    with make_memory(mode, pg_url, chroma_url) as memory:
        assert memory.stats(agent).total == 6 * WORKERS
