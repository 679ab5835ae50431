"""Faults on real servers: crashes, stopped and hung servers, lost connections, lock conflicts.

Each test names the fault it injects (12 classes of fault). Recall while Chroma is down
is served by PostgreSQL (documented in ``agentmem.backends.hybrid``).
"""

from __future__ import annotations

import asyncio
import os
import random
import signal
import socket
import stat
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest

from agentmem import ChromaBackend, HashingEmbedder, HybridMemory, Memory, MemoryType, PostgresBackend
from agentmem.backends._pg_errors import postgres_errors
from agentmem.backends.base import StoreInfo
from agentmem.backends.hybrid import HybridBackend
from agentmem.backends.postgres import PostgresConfig
from agentmem.errors import BackendError, BackendUnavailable, InvalidInput
from agentmem.settings import load_settings
from tests.conftest import DIM
from tests.servers import ChromaServer, free_port

REPO = Path(__file__).resolve().parents[2]


def _memories(agent: str, ids: list[str], text: str = "note") -> list[Memory]:
    return [Memory(id=i, agent_id=agent, content=f"{text} {i}") for i in ids]


def _ids_in_index(memory: HybridMemory, agent: str) -> set[str]:
    """The ids the Chroma index of a hybrid memory holds for ``agent``."""
    from agentmem._runner import shared_runner

    backend = memory.backend
    assert isinstance(backend, HybridBackend)
    rows = shared_runner().run(backend.index.list_memories(agent, memory_types=list(MemoryType)))
    return {m.id for m in rows}


@pytest.fixture
def hung_url() -> Iterator[str]:
    """A TCP server that accepts connections (the kernel's backlog) and never answers."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    sock.listen(64)
    yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    sock.close()


def _private_home(root: Path) -> tuple[Path, dict[Path, int]]:
    """``root/x/a/b`` with x, a and b at mode 700; the home inside b and the modes."""
    b = root / "x" / "a" / "b"
    b.mkdir(parents=True)
    folders = [root / "x", root / "x" / "a", b]
    for folder in folders:
        folder.chmod(0o700)
    return b / ".agentmem", {f: 0o700 for f in folders}


def _modes(folders: dict[Path, int]) -> dict[Path, int]:
    return {f: stat.S_IMODE(f.stat().st_mode) for f in folders}


def test_kill_9_of_embedded_postgres_mid_ingest_loses_no_acknowledged_write(
        tmp_path: Path) -> None:
    """Fault: the embedded server is killed (SIGKILL) while a thread ingests batches.

    Every acknowledged batch survives, the failed one is all or nothing, a new memory in
    the same process restarts the server, and no parent folder's mode was changed."""
    home, private = _private_home(tmp_path)
    settings = load_settings(home=home, mode="pgvector", embeddings=f"hashing:{DIM}",
                             connect_timeout=3)
    first = HybridMemory.from_settings(settings)
    first.remember("warm up", agent_id="warm")
    assert _modes(private) == private  # started as root or not: modes as they were
    agent, acked, failed = f"a-{uuid.uuid4().hex[:8]}", [], []
    errors: list[Exception] = []

    def ingest() -> None:
        for n in range(10_000):
            ids = [f"b{n}-{j}" for j in range(50)]
            try:
                first.remember_many(_memories(agent, ids))
            except Exception as exc:
                failed.append(ids)
                errors.append(exc)
                return
            acked.append(ids)

    worker = threading.Thread(target=ingest)
    worker.start()
    while len(acked) < 5:
        time.sleep(0.05)
    pid = int((home / "pg" / "postmaster.pid").read_text().split()[0])
    os.kill(pid, signal.SIGKILL)
    worker.join(timeout=60)
    assert not worker.is_alive()
    assert failed and isinstance(errors[0], BackendUnavailable), errors
    assert "start the server" in str(errors[0]).lower()

    second = HybridMemory.from_settings(settings)  # same process: restarts the server
    stored = {m.id for m in second.memories(agent)}
    for ids in acked:
        assert set(ids) <= stored
    assert set(failed[0]) <= stored or not set(failed[0]) & stored  # atomic batch
    assert len(stored) == 50 * len(acked) + (50 if set(failed[0]) <= stored else 0)
    # The first memory's pool recovers too: its dead connections are dropped and retried.
    assert first.get_many(acked[0][:3], agent_id=agent)
    assert _modes(private) == private
    second.close()
    first.close()


def test_chroma_stopped_in_hybrid_mode_writes_succeed_and_reindex_heals(
        pg_url: str, own_chroma: ChromaServer, agent_id: str) -> None:
    """Fault: the Chroma server stops. Writes still succeed and are durable; recall falls
    back to PostgreSQL; after a restart, reindex makes the index equal the primary."""
    backend = HybridBackend(PostgresBackend(pg_url), ChromaBackend(own_chroma.url, timeout=3),
                            index_min_rows=1)  # route recall to Chroma whenever it can serve
    memory = HybridMemory(embedder=HashingEmbedder(DIM), backend=backend)
    memory.init()
    memory.remember_many(_memories(agent_id, [f"m{i}" for i in range(20)]))
    memory.flush_index(agent_id)
    assert _ids_in_index(memory, agent_id) == {f"m{i}" for i in range(20)}
    own_chroma.stop()
    memory.remember_many(_memories(agent_id, [f"late{i}" for i in range(10)], "zebra"))
    memory.forget(["m0"], agent_id=agent_id)
    assert memory.flush_index(agent_id) == 0  # nothing copied: it stays queued
    hits = memory.recall("zebra late3", agent_id=agent_id, k=3)
    assert any(h.memory.id.startswith("late") for h in hits)  # served by PostgreSQL
    assert memory.stats(agent_id).pending_index > 0
    own_chroma.start()
    memory.reindex(agent_id)
    stored = {m.id for m in memory.memories(agent_id)}
    assert len(stored) == 29 and "m0" not in stored
    assert _ids_in_index(memory, agent_id) == stored
    assert memory.stats(agent_id).pending_index == 0
    memory.close()


def test_hung_chroma_times_out_and_hybrid_remember_still_succeeds(
        pg_url: str, hung_url: str, agent_id: str) -> None:
    """Fault: a Chroma that accepts connections and never answers."""
    started = time.monotonic()
    with pytest.raises(BackendUnavailable, match=hung_url.split("//")[1]) as caught:
        asyncio.run(ChromaBackend(hung_url, timeout=1).init(StoreInfo("hashing-v1", DIM)))
    assert "AGENTMEM_CHROMA_TIMEOUT" in str(caught.value)
    assert time.monotonic() - started < 15
    started = time.monotonic()
    memory = HybridMemory(embedder=HashingEmbedder(DIM), postgres=PostgresBackend(pg_url),
                          chroma=ChromaBackend(hung_url, timeout=1))
    memory.init()  # the index is derived: unavailable is a warning, not a failure
    stored = memory.remember("written while the index hangs", agent_id=agent_id)
    assert memory.get(stored.id, agent_id=agent_id).content == stored.content
    assert memory.recall("index hangs", agent_id=agent_id, k=1)[0].memory.id == stored.id
    memory.close()
    assert time.monotonic() - started < 30


def test_servers_down_at_start_fail_fast_naming_the_redacted_url() -> None:
    """Fault: nothing listens where PostgreSQL and Chroma should be."""
    port = free_port()
    password = f"pw-{uuid.uuid4().hex[:12]}"  # made here: no literal password in the repository
    url = f"postgresql://agent:{password}@127.0.0.1:{port}/mem"
    started = time.monotonic()
    memory = HybridMemory(embedder=HashingEmbedder(DIM),
                          postgres=PostgresBackend(PostgresConfig(url, connect_timeout=2)))
    with pytest.raises(BackendUnavailable) as caught:
        memory.init()
    assert time.monotonic() - started < 30
    assert f"127.0.0.1:{port}" in str(caught.value) and password not in str(caught.value)
    memory.close()
    chroma = f"http://127.0.0.1:{free_port()}"
    with pytest.raises(BackendUnavailable, match=chroma.split("//")[1]):
        asyncio.run(ChromaBackend(chroma, timeout=2).init(StoreInfo("hashing-v1", DIM)))


def test_four_writers_of_the_same_ids_in_shuffled_orders_never_deadlock(
        pg_url: str, chroma_url: str, agent_id: str) -> None:
    """Fault class: lock-order deadlocks between agentmem's own batches (and index queue)."""
    # No retries: a deadlock would surface as an error instead of being retried away.
    memories = [HybridMemory(embedder=HashingEmbedder(DIM), postgres=PostgresBackend(
        PostgresConfig(pg_url, retries=1)), chroma=ChromaBackend(chroma_url)) for _ in range(4)]
    for m in memories:
        m.init()
    ids = [f"same-{i}" for i in range(50)]
    errors: list[Exception] = []

    def write(memory: HybridMemory, seed: int) -> None:
        rng = random.Random(seed)
        for round_ in range(10):
            batch = _memories(agent_id, ids, f"w{seed} r{round_}")
            rng.shuffle(batch)
            try:
                memory.remember_many(batch)
            except Exception as exc:
                errors.append(exc)

    threads = [threading.Thread(target=write, args=(m, n)) for n, m in enumerate(memories)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert errors == []
    assert {m.id for m in memories[0].memories(agent_id)} == set(ids)
    memories[0].flush_index(agent_id)
    assert _ids_in_index(memories[0], agent_id) == set(ids)
    for m in memories:
        m.close()


def test_a_users_transaction_deadlocking_with_agentmem_is_retried(
        pg_url: str, agent_id: str) -> None:
    """Fault: another client's transaction takes the same rows in the other order."""
    memory = HybridMemory(embedder=HashingEmbedder(DIM), postgres=PostgresBackend(pg_url))
    memory.init()
    memory.remember_many(_memories(agent_id, ["a", "b"], "before"))
    user = psycopg.connect(pg_url)
    user.execute("UPDATE agentmem_memories SET importance = 0.9 WHERE agent_id = %s"
                 " AND id = 'b'", [agent_id])
    done: list[object] = []
    writer = threading.Thread(target=lambda: done.append(
        memory.remember_many(_memories(agent_id, ["a", "b"], "agentmem"))))
    writer.start()
    time.sleep(0.5)  # agentmem holds "a" and waits for "b"
    try:
        user.execute("UPDATE agentmem_memories SET importance = 0.8 WHERE agent_id = %s"
                     " AND id = 'a'", [agent_id])
        user.commit()  # agentmem was the deadlock victim (it waited first)...
    except psycopg.errors.DeadlockDetected:
        user.rollback()  # ...or the user was; either way agentmem's write goes through
    user.close()
    writer.join(timeout=30)
    assert done, "agentmem's write did not complete"
    assert {m.content for m in memory.get_many(["a", "b"], agent_id=agent_id)} == {
        "agentmem a", "agentmem b"}
    memory.close()


def test_a_row_lock_held_past_the_statement_timeout_is_a_clear_error(
        pg_url: str, agent_id: str) -> None:
    """Fault: a user's transaction holds a row lock longer than AGENTMEM_STATEMENT_TIMEOUT."""
    memory = HybridMemory(embedder=HashingEmbedder(DIM), postgres=PostgresBackend(
        PostgresConfig(pg_url, statement_timeout=1.0)))
    memory.init()
    memory.remember_many(_memories(agent_id, ["x"]))
    with psycopg.connect(pg_url) as user:
        user.execute("SELECT 1 FROM agentmem_memories WHERE agent_id = %s AND id = 'x'"
                     " FOR UPDATE", [agent_id])
        started = time.monotonic()
        with pytest.raises(BackendError, match="statement timeout"):
            memory.remember_many(_memories(agent_id, ["x"], "blocked"))
        assert time.monotonic() - started < 10
    assert memory.get("x", agent_id=agent_id).content == "note x"  # unchanged
    memory.close()


def test_dropped_connections_are_retried_without_duplicates(
        new_database: Any, agent_id: str) -> None:
    """Fault: the server terminates every agentmem connection (a transient drop)."""
    url = str(new_database())
    memory = HybridMemory(embedder=HashingEmbedder(DIM), postgres=PostgresBackend(
        PostgresConfig(url, pool_min=3)))
    memory.init()
    memory.add_turn("s", agent_id, "user", "first")
    memory.remember_many(_memories(agent_id, ["k1"]))

    def drop_all() -> int:
        with psycopg.connect(url, autocommit=True) as admin:
            rows = admin.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                                 " WHERE datname = current_database()"
                                 " AND pid <> pg_backend_pid()").fetchall()
        return len(rows)

    assert drop_all() >= 1
    memory.remember_many(_memories(agent_id, ["k2"]))
    assert drop_all() >= 1
    memory.add_turn("s", agent_id, "user", "second")  # not idempotent: it failed before COMMIT
    assert drop_all() >= 1
    assert [t.content for t in memory.history("s", agent_id)] == ["first", "second"]
    assert {m.id for m in memory.memories(agent_id)} == {"k1", "k2"}
    memory.close()


def test_index_drain_holds_no_lock_while_it_waits_on_the_index(
        pg_url: str, agent_id: str) -> None:
    """Fault: the index is slow; meanwhile another client updates the rows being copied."""

    async def scenario() -> tuple[int, int]:
        backend = PostgresBackend(pg_url)
        await backend.check(StoreInfo("hashing-v1", DIM))
        await backend.upsert_pending(_memories(agent_id, ["r1", "r2"]), [[1.0] * DIM] * 2)

        def other_client() -> None:
            with psycopg.connect(pg_url) as conn:
                conn.execute("SET lock_timeout = '2s'")
                conn.execute("UPDATE agentmem_memories SET content = 'changed' WHERE"
                             " agent_id = %s AND id = 'r1'", [agent_id])
                conn.execute("UPDATE agentmem_index_queue SET seq ="
                             " nextval('agentmem_index_queue_seq') WHERE agent_id = %s"
                             " AND id = 'r1'", [agent_id])
                idle = conn.execute(
                    "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
                    " AND state LIKE 'idle in transaction%%' AND pid <> pg_backend_pid()"
                ).fetchone()
                assert idle == (0,)

        async def slow_write(memories: list[Memory], vectors: list[list[float]]) -> None:
            await asyncio.to_thread(other_client)  # would time out on a held lock

        async def remove(agent: str, ids: list[str]) -> None:
            raise AssertionError("nothing was deleted")

        copied = await backend.drain_pending(slow_write, remove, agent_id=agent_id)
        left = await backend.pending_count(agent_id)
        await backend.close()
        return copied, left

    copied, left = asyncio.run(scenario())
    assert copied == 2 and left == 1  # r1 changed while being copied: still queued


@pytest.mark.parametrize(("sqlstate", "error"), [
    ("40P01", BackendError), ("40001", BackendError), ("54000", InvalidInput),
    ("54001", InvalidInput), ("22021", InvalidInput), ("57P01", BackendUnavailable),
    ("08006", BackendUnavailable), ("42P01", BackendError), ("53300", BackendError)])
def test_server_errors_map_by_sqlstate_class(sqlstate: str, error: type[Exception]) -> None:
    """Fault class: a server error reported as the wrong kind (a deadlock as "unreachable")."""
    cls = psycopg.errors.lookup(sqlstate)
    with pytest.raises(error) as caught, postgres_errors("postgresql://u:pw@db:5432/x"):
        raise cls("server said no")
    assert type(caught.value) is error and "pw@" not in str(caught.value)
    assert ("start the server" in str(caught.value).lower()) == (error is BackendUnavailable)


def test_over_long_text_is_invalid_input_not_unavailable(pg_url: str, agent_id: str) -> None:
    """Fault: PostgreSQL's tsvector limit (1 MB of lexemes) is a limit, not an outage."""
    memory = HybridMemory(embedder=HashingEmbedder(DIM), postgres=PostgresBackend(pg_url))
    memory.init()
    # 16,000 distinct 97-letter words: 1.6 MB of lexemes (the tsvector keeps 16,383).
    words = " ".join(f"w{uuid.uuid4().hex * 3}" for _ in range(16_000))
    with pytest.raises(InvalidInput) as caught:
        memory.remember(words, agent_id=agent_id)
    assert "could not reach" not in str(caught.value)
    assert memory.memories(agent_id) == []
    memory.close()


def test_unclosed_chroma_and_hybrid_memories_exit_cleanly(pg_url: str, chroma_url: str,
                                                          tmp_path: Path) -> None:
    """Fault: a program ends without closing its memories (background copy in flight)."""
    script = (
        "import sys\n"
        "from agentmem import ChromaBackend, HashingEmbedder, HybridMemory, PostgresBackend\n"
        f"h = HybridMemory(embedder=HashingEmbedder({DIM}), postgres=PostgresBackend(sys.argv[1]),"
        " chroma=ChromaBackend(sys.argv[2]))\n"
        f"c = HybridMemory(embedder=HashingEmbedder({DIM}), chroma=ChromaBackend(sys.argv[2]))\n"
        f"d = HybridMemory(embedder=HashingEmbedder({DIM}), chroma=ChromaBackend(sys.argv[3]))\n"
        "for m in (c, d, h):  # the hybrid last: its copy to Chroma is still waiting at exit\n"
        "    m.init()\n"
        "    m.remember('left open at exit', agent_id='exit-agent')\n"
    )
    done = subprocess.run([sys.executable, "-c", script, pg_url, chroma_url,
                           str(tmp_path / "chroma")], cwd=REPO, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0 and done.stderr == ""


def test_fault_settings_reach_the_backends() -> None:
    """AGENTMEM_RETRIES, AGENTMEM_STATEMENT_TIMEOUT and AGENTMEM_CHROMA_TIMEOUT are used."""
    from agentmem.errors import ConfigError
    from agentmem.factory import chroma_from_settings, postgres_from_settings

    settings = load_settings(postgres_url="postgresql://127.0.0.1:1/x", chroma_url="http://h:1",
                             retries=5, statement_timeout=2.5, chroma_timeout=4)
    postgres, _ = postgres_from_settings(settings)
    assert (postgres.config.retries, postgres.config.statement_timeout) == (5, 2.5)
    assert chroma_from_settings(settings)[0].timeout == 4.0
    defaults = load_settings()
    assert (defaults.retries, defaults.statement_timeout, defaults.chroma_timeout) == (3, None, 30)
    with pytest.raises(ConfigError, match="AGENTMEM_RETRIES"):
        load_settings(retries=0)
    with pytest.raises(ConfigError, match="timeout"):
        ChromaBackend("http://h:1", timeout=0)
