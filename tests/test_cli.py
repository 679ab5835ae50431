"""The `agentmem` command, run as a user runs it: a subprocess in a fresh directory."""

from __future__ import annotations

import functools
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

AGENTMEM = str(Path(sys.executable).with_name("agentmem"))


def run(cwd: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    """``agentmem ARGS`` with only ``env`` set; embeddings are hashing unless ``env`` says."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith("AGENTMEM_")}
    return subprocess.run([AGENTMEM, *args], cwd=cwd,
                          env={**clean, "COLUMNS": "200", "AGENTMEM_EMBEDDINGS": "hashing:384",
                               **env},
                          capture_output=True, text=True, timeout=300)


def test_demo_and_doctor_on_the_embedded_default(tmp_path: Path) -> None:
    """Every default, as a user gets them: the embedded store and ``auto`` embeddings."""
    as_user = functools.partial(run, AGENTMEM_EMBEDDINGS="auto")
    first = as_user(tmp_path, "demo")
    assert first.returncode == 0, first.stderr
    out = first.stdout
    assert "hybrid mode" in out and "stored 8 memories" in out
    assert "sentence-transformers:all-MiniLM-L6-v2" in out  # auto: the model is installed
    assert "To rotate a database password" in out  # the ops agent recalls its procedure
    assert "demo-tutor › user: My script fails with a KeyError" in out
    assert (tmp_path / ".agentmem" / "pg").is_dir() and (tmp_path / ".agentmem" / "chroma").is_dir()
    again = as_user(tmp_path, "demo")  # fixed ids: a second run updates, never duplicates
    assert again.returncode == 0, again.stderr
    stats = json.loads(as_user(tmp_path, "stats", "--agent", "demo-tutor", "--json").stdout)
    assert stats["by_type"] == {"episodic": 3, "semantic": 1, "procedural": 1}
    assert (stats["turns"], stats["pending_index"]) == (2, 0)
    doctor = as_user(tmp_path, "doctor", "--json")
    assert doctor.returncode == 0, doctor.stdout + doctor.stderr
    checks = {c["name"]: c for c in json.loads(doctor.stdout)}
    assert {"embedder", "postgres", "pgvector", "schema", "indexes", "chroma"} <= set(checks)
    assert all(c["ok"] for c in checks.values())


def test_doctor_on_a_fresh_embedded_default_creates_nothing(tmp_path: Path) -> None:
    doctor = run(tmp_path, "doctor", "--json")
    assert doctor.returncode == 0, doctor.stdout + doctor.stderr
    checks = {c["name"]: c for c in json.loads(doctor.stdout)}
    assert "not created yet" in checks["postgres"]["detail"]
    assert "not created yet" in checks["chroma"]["detail"]
    assert {"embedder", "disk"} <= set(checks) and all(c["ok"] for c in checks.values())
    assert list(tmp_path.iterdir()) == []  # a diagnostic leaves no state behind


def test_doctor_fails_clearly_for_an_unreachable_postgres(tmp_path: Path) -> None:
    doctor = run(tmp_path, "doctor", AGENTMEM_POSTGRES_URL="postgresql://127.0.0.1:1/x")
    assert doctor.returncode == 1
    assert "FAIL" in doctor.stdout and "127.0.0.1:1" in doctor.stdout
    assert "AGENTMEM_POSTGRES_URL" in doctor.stdout


def test_doctor_fails_clearly_for_an_unreachable_chroma(tmp_path: Path) -> None:
    doctor = run(tmp_path, "doctor", "--json", AGENTMEM_CHROMA_URL="http://127.0.0.1:1")
    assert doctor.returncode == 1
    checks = {c["name"]: c for c in json.loads(doctor.stdout)}
    assert not checks["chroma"]["ok"] and "127.0.0.1:1" in checks["chroma"]["detail"]


def test_server_schema_changes_only_through_migrate(tmp_path: Path, new_database) -> None:  # type: ignore[no-untyped-def]
    url = new_database()
    before = run(tmp_path, "doctor", "--json", AGENTMEM_POSTGRES_URL=url)
    assert before.returncode == 1
    schema = {c["name"]: c for c in json.loads(before.stdout)}["schema"]
    assert not schema["ok"] and "agentmem migrate" in schema["hint"]
    assert run(tmp_path, "stats", "--agent", "a", AGENTMEM_POSTGRES_URL=url).returncode == 3
    migrated = run(tmp_path, "migrate", AGENTMEM_POSTGRES_URL=url)
    assert migrated.returncode == 0 and "schema ready" in migrated.stdout
    assert run(tmp_path, "doctor", AGENTMEM_POSTGRES_URL=url).returncode == 0


def test_reindex_and_stats_against_servers(tmp_path: Path, new_database, own_chroma) -> None:  # type: ignore[no-untyped-def]
    env = {"AGENTMEM_POSTGRES_URL": new_database(), "AGENTMEM_CHROMA_URL": own_chroma.url,
           "AGENTMEM_EMBEDDINGS": "hashing:32"}
    assert run(tmp_path, "migrate", **env).returncode == 0
    assert run(tmp_path, "demo", **env).returncode == 0
    out = run(tmp_path, "reindex", "--json", **env)
    assert out.returncode == 0, out.stdout + out.stderr
    assert json.loads(out.stdout)["indexed"] == 8
    pg_only = run(tmp_path, "reindex", AGENTMEM_POSTGRES_URL=env["AGENTMEM_POSTGRES_URL"],
                  AGENTMEM_EMBEDDINGS="hashing:32")
    assert pg_only.returncode == 3 and "hybrid mode" in pg_only.stderr


@pytest.mark.parametrize("env,needle", [
    ({"AGENTMEM_MODE": "bogus"}, "AGENTMEM_MODE"),
    ({"AGENTMEM_EMBEDDINGS": "nope:1"}, "hashing"),
    ({"AGENTMEM_POSTGRES_URL": "mysql://x"}, "AGENTMEM_POSTGRES_URL"),
])
def test_bad_settings_exit_3_with_the_reason_on_stderr(tmp_path: Path, env: dict[str, str],
                                                       needle: str) -> None:
    result = run(tmp_path, "stats", "--agent", "a", **env)
    assert result.returncode == 3 and needle in result.stderr and result.stdout == ""
    assert not (tmp_path / ".agentmem").exists()  # a bad setting starts no embedded server
    as_json = run(tmp_path, "stats", "--agent", "a", "--json", **env)
    error = json.loads(as_json.stderr)["error"]
    assert as_json.returncode == 3 and error["exit_code"] == 3 and needle in error["message"]
    assert as_json.stdout == ""


def test_consolidate_reports_then_writes_then_finds_nothing_left(  # type: ignore[no-untyped-def]
        tmp_path: Path, new_database) -> None:
    from agentmem import HashingEmbedder, HybridMemory, Memory, PostgresBackend

    url = new_database()
    with HybridMemory(embedder=HashingEmbedder(32), postgres=PostgresBackend(url)) as memory:
        memory.init()
        memory.remember_many([Memory(content=f"The user booked a flight to Lisbon {w}", agent_id="a")
                              for w in ("for May", "again", "in June")]
                             + [Memory(content="Grandma sent a cake recipe", agent_id="a")])
    env = {"AGENTMEM_POSTGRES_URL": url, "AGENTMEM_EMBEDDINGS": "hashing:32"}
    args = ("consolidate", "--agent", "a", "--similarity", "0.6", "--all-time")
    dry = run(tmp_path, *args, "--dry-run", "--json", **env)
    assert dry.returncode == 0, dry.stdout + dry.stderr
    assert {k: json.loads(dry.stdout)[k] for k in ("considered", "groups", "sources", "created")} == {
        "considered": 4, "groups": 1, "sources": 3, "created": []}
    done = run(tmp_path, *args, **env)
    assert done.returncode == 0 and "consolidated 3" in done.stdout, done.stdout + done.stderr
    stats = json.loads(run(tmp_path, "stats", "--agent", "a", "--json", **env).stdout)
    assert stats["by_type"]["semantic"] == 1
    again = json.loads(run(tmp_path, *args, "--json", **env).stdout)
    assert (again["groups"], again["created"]) == (0, [])
    bad = run(tmp_path, "consolidate", "--agent", "a", "--sources", "shred", **env)
    assert bad.returncode == 2 and "sources" in bad.stderr


def test_cleanup_counts_then_deletes_expired_memories(  # type: ignore[no-untyped-def]
        tmp_path: Path, new_database) -> None:
    from datetime import datetime, timedelta, timezone

    from agentmem import HashingEmbedder, HybridMemory, Memory, PostgresBackend

    url = new_database()
    past = datetime.now(timezone.utc) - timedelta(minutes=1)
    with HybridMemory(embedder=HashingEmbedder(32), postgres=PostgresBackend(url)) as memory:
        memory.init()
        memory.remember_many([Memory(content=f"note {i}", agent_id="a", expires_at=past)
                              for i in range(3)] + [Memory(content="kept", agent_id="a")])
    env = {"AGENTMEM_POSTGRES_URL": url, "AGENTMEM_EMBEDDINGS": "hashing:32"}
    dry = run(tmp_path, "cleanup", "--dry-run", "--json", **env)
    assert dry.returncode == 0, dry.stdout + dry.stderr
    assert json.loads(dry.stdout)["by_agent"] == {"a": {"episodic": 3}}
    done = run(tmp_path, "cleanup", "--agent", "a", "--archive", **env)
    assert done.returncode == 0 and "archived 3 expired memories" in done.stdout, done.stdout
    assert json.loads(run(tmp_path, "cleanup", "--json", **env).stdout)["total"] == 0
    assert json.loads(run(tmp_path, "stats", "--agent", "a", "--json", **env).stdout)["total"] == 1
