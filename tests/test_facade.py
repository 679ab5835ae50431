"""The facade's shape: derived sync twins, one loop thread per process, the Chroma guard."""

from __future__ import annotations

import asyncio
import inspect
import threading

import pytest

from agentmem import BackendError, HashingEmbedder, HybridMemory, PostgresBackend
from agentmem.backends._chroma_client import chroma_call, connect
from tests.conftest import DIM, make_memory


def _twins() -> list[tuple[str, str]]:
    names = {n for n in dir(HybridMemory) if not n.startswith("_")}
    return sorted((n, n[1:]) for n in names
                  if n.startswith("a") and inspect.iscoroutinefunction(getattr(HybridMemory, n))
                  and n[1:] in names)


def test_every_async_method_has_a_sync_twin_with_one_signature_and_docstring() -> None:
    pairs = _twins()
    assert len(pairs) >= 20
    for async_name, sync_name in pairs:
        afn, fn = getattr(HybridMemory, async_name), getattr(HybridMemory, sync_name)
        assert not inspect.iscoroutinefunction(fn), sync_name
        assert inspect.signature(fn) == inspect.signature(afn), sync_name
        assert fn.__doc__ and fn.__doc__ == afn.__doc__, sync_name
        assert fn.__name__ == sync_name


def test_memories_share_one_loop_thread(pg_url: str, agent_id: str) -> None:
    def loops() -> int:
        return sum(t.name == "agentmem-loop" for t in threading.enumerate())

    first = HybridMemory(embedder=HashingEmbedder(DIM), postgres=PostgresBackend(pg_url))
    first.remember("warm up", agent_id)
    before = loops()
    for i in range(15):
        with HybridMemory(embedder=HashingEmbedder(DIM), postgres=PostgresBackend(pg_url)) as m:
            m.remember(f"memory {i}", agent_id)
    assert before == 1 and loops() == 1
    assert len(first.memories(agent_id)) == 16
    first.close()
    assert first.closed
    first.close()  # closing twice is harmless


async def test_sync_and_async_calls_mix_on_any_loop(pg_url: str, chroma_url: str,
                                                    agent_id: str) -> None:
    memory = make_memory("hybrid", pg_url, chroma_url)
    stored = await memory.aremember("async write", agent_id)
    # A sync call from inside a running loop (as in Jupyter) blocks on agentmem's loop.
    assert memory.get(stored.id, agent_id).content == "async write"
    results = await asyncio.gather(*(memory.arecall("write", agent_id, k=1) for _ in range(5)))
    assert all(r[0].memory.id == stored.id for r in results)
    await memory.aclose()


def test_chroma_guard_maps_chroma_errors_but_never_masks_a_bug(chroma_url: str) -> None:
    client = connect(chroma_url)
    col = client.get_or_create_collection("guard-test", embedding_function=None)

    def bug() -> None:
        raise TypeError("a bug in agentmem")

    with pytest.raises(TypeError, match="a bug in agentmem"):
        chroma_call(chroma_url, bug)
    with pytest.raises(BackendError):  # chromadb's own validation: ids and vectors disagree
        chroma_call(chroma_url, col.upsert, ids=["a", "b"], embeddings=[[1.0, 2.0]])
    client.delete_collection("guard-test")
