"""``agentmem serve-metrics``, ``monitor`` and the doctor's index health, as users run them."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import agentmem
from agentmem import load_settings
from agentmem.cli.doctor import run_checks
from tests.conftest import DIM, make_memory
from tests.servers import ChromaServer, free_port
from tests.test_cli import AGENTMEM, run

HASHING = f"hashing:{DIM}"
# The command runs the agentmem these tests import (a worktree, not only the installed one).
SOURCE = {"PYTHONPATH": str(Path(agentmem.__file__).parent.parent)}


def cli(cwd: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return run(cwd, *args, AGENTMEM_EMBEDDINGS=HASHING, **SOURCE, **env)


def get(url: str) -> tuple[int, str]:
    """(status, body) of a GET, error statuses included."""
    try:
        with urllib.request.urlopen(url, timeout=10) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


@contextmanager
def serving(cwd: Path, **env: str) -> Iterator[str]:
    """A ``serve-metrics`` subprocess on a free port, up once /healthz answers; its URL."""
    port = free_port()
    clean = {k: v for k, v in os.environ.items() if not k.startswith("AGENTMEM_")}
    proc = subprocess.Popen([AGENTMEM, "serve-metrics", "--port", str(port)], cwd=cwd,
                            env={**clean, "AGENTMEM_EMBEDDINGS": HASHING, **SOURCE, **env},
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            assert proc.poll() is None, proc.communicate()[1]
            try:
                get(f"{base}/healthz")
                break
            except OSError:
                assert time.monotonic() < deadline, "serve-metrics never answered"
                time.sleep(0.2)
        yield base
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    assert proc.returncode == 0, proc.stderr.read() if proc.stderr else ""


def test_serve_metrics_exposes_series_and_monitor_reads_them(
        tmp_path: Path, pg_url: str, chroma_url: str, agent_id: str) -> None:
    memory = make_memory("hybrid", pg_url, chroma_url)
    try:
        for text in ("first", "second", "third"):
            memory.remember(text, agent_id)
        memory.add_turn("s-1", agent_id, "user", "hi")
        memory.add_turn("s-1", agent_id, "assistant", "hello")
        memory.flush_index(agent_id)
    finally:
        memory.close()
    env = {"AGENTMEM_POSTGRES_URL": pg_url, "AGENTMEM_CHROMA_URL": chroma_url}
    with serving(tmp_path, **env) as base:
        status, body = get(f"{base}/healthz")
        assert status == 200 and json.loads(body) == {"status": "ok", "mode": "hybrid"}
        assert get(f"{base}/nowhere")[0] == 404
        status, text = get(f"{base}/metrics")
        assert status == 200
        for series in ("agentmem_store_up 1.0", 'agentmem_store_memories{location=',
                       'store="postgres"', 'store="chroma"', "agentmem_index_pending",
                       "agentmem_process_resident_memory_bytes", "agentmem_store_table_bytes"):
            assert series in text, series
        second = get(f"{base}/metrics")[1]  # the first scrape timed its read of the sizes
        assert 'agentmem_operation_duration_seconds_bucket{le="+Inf",operation="sizes"} 1.0' \
            in second
        out = cli(tmp_path, "monitor", "--count", "1", "--json", "--agent", agent_id,
                  "--url", f"{base}/metrics", **env)
    assert out.returncode == 0, out.stderr
    snap: dict[str, Any] = json.loads(out.stdout)
    assert snap["rss_bytes"] > 0 and snap["agent"] == agent_id and snap["mode"] == "hybrid"
    stores = {s["store"]: s for s in snap["stores"]}
    assert (stores["postgres"]["memories"], stores["postgres"]["turns"]) == (3, 2)
    assert stores["chroma"]["memories"] == 3 and snap["pending_index"] == 0
    assert snap["server"]["rss_bytes"] > 0
    assert snap["server"]["operations"]["sizes"]["count"] >= 1


def test_healthz_is_503_with_the_error_when_postgres_is_down(tmp_path: Path) -> None:
    with serving(tmp_path, AGENTMEM_MODE="pgvector",
                 AGENTMEM_POSTGRES_URL="postgresql://u:pw@127.0.0.1:1/x",
                 AGENTMEM_CONNECT_TIMEOUT="2") as base:
        status, body = get(f"{base}/healthz")
        metrics = get(f"{base}/metrics")
    assert status == 503
    doc = json.loads(body)
    assert doc["status"] == "error" and doc["error"]["type"] == "BackendUnavailable"
    assert "127.0.0.1:1" in doc["error"]["message"] and "pw@" not in body
    assert metrics[0] == 200 and "agentmem_store_up 0.0" in metrics[1]


def test_monitor_counts_rows_in_pgvector_mode(tmp_path: Path, pg_url: str, chroma_url: str,
                                             agent_id: str) -> None:
    memory = make_memory("pgvector", pg_url, chroma_url)
    try:
        memory.remember("a", agent_id)
        memory.remember("b", agent_id, memory_type="procedural")
        memory.add_turn("s", agent_id, "user", "x")
    finally:
        memory.close()
    out = cli(tmp_path, "monitor", "--count", "1", "--json", "--agent", agent_id,
              AGENTMEM_MODE="pgvector", AGENTMEM_POSTGRES_URL=pg_url)
    assert out.returncode == 0, out.stderr
    [pg] = json.loads(out.stdout)["stores"]
    assert (pg["store"], pg["memories"], pg["turns"]) == ("postgres", 2, 1)
    table = cli(tmp_path, "monitor", "--count", "1", "--agent", agent_id,
                AGENTMEM_MODE="pgvector", AGENTMEM_POSTGRES_URL=pg_url)
    assert table.returncode == 0 and "process RSS" in table.stdout and "postgres" in table.stdout


def test_doctor_index_health_fails_behind_agentmems_back_and_passes_after_reindex(
        new_database: Any, own_chroma: ChromaServer, agent_id: str) -> None:
    import chromadb

    url = new_database()
    memory = make_memory("hybrid", url, own_chroma.url)
    settings = load_settings(postgres_url=url, chroma_url=own_chroma.url, embeddings=HASHING)

    def index_health() -> Any:
        checks = {c.name: c for c in asyncio.run(run_checks(settings))}
        return checks["index health"]

    try:
        for i in range(5):
            memory.remember(f"fact {i}", agent_id)
        memory.flush_index()
        healthy = index_health()
        assert healthy.ok and "PostgreSQL 5 memories, Chroma 5" in healthy.detail
        client = chromadb.HttpClient(host="127.0.0.1", port=own_chroma.port)
        [col] = [c for c in client.list_collections()
                 if (c.metadata or {}).get("agent_id") == agent_id]
        col.delete(ids=col.get(limit=2)["ids"])  # lost behind agentmem's back
        broken = index_health()
        assert not broken.ok and "agentmem reindex" in broken.hint
        assert "Chroma 3" in broken.detail
        assert memory.reindex() == 5
        assert index_health().ok
    finally:
        memory.close()
