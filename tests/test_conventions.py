"""Command-line and configuration conventions: version, exit codes, stderr, logging, settings."""

from __future__ import annotations

import json
import logging
import subprocess
import sys
from pathlib import Path

import pytest

from agentmem import ConfigError, load_settings
from agentmem._logging import JsonFormatter
from agentmem.factory import postgres_from_settings
from tests.test_cli import run


def test_version_is_the_package_version(tmp_path: Path) -> None:
    from importlib.metadata import version

    out = run(tmp_path, "--version")
    assert out.returncode == 0 and out.stdout.strip() == f"agentmem {version('agentmem-hybrid')}"


def test_exit_codes_do_not_collide(tmp_path: Path) -> None:
    usage = run(tmp_path, "stats")  # --agent missing: Click's usage error
    assert usage.returncode == 2 and "--agent" in usage.stderr
    config = run(tmp_path, "stats", "--agent", "a", AGENTMEM_MODE="bogus")
    assert config.returncode == 3 and "AGENTMEM_MODE" in config.stderr
    down = run(tmp_path, "stats", "--agent", "a", "--json",
               AGENTMEM_POSTGRES_URL="postgresql://u:pw@127.0.0.1:1/x")
    error = json.loads(down.stderr)["error"]
    assert down.returncode == 4 and error["type"] == "BackendUnavailable"
    assert "127.0.0.1:1" in error["message"] and "pw@" not in down.stderr
    assert down.stdout == ""


def test_a_misspelt_override_is_rejected_with_a_suggestion() -> None:
    with pytest.raises(ConfigError, match="'postgress_url' \\(did you mean 'postgres_url'\\?\\)"):
        load_settings(postgress_url="postgresql://localhost/x")
    with pytest.raises(ConfigError, match="unknown agentmem setting 'zzz'"):
        load_settings(zzz=1)


def test_pool_timeouts_and_search_come_from_the_environment(
        monkeypatch: pytest.MonkeyPatch) -> None:
    for key, value in {"POOL_MIN": "2", "POOL_MAX": "3", "CONNECT_TIMEOUT": "2.5",
                       "EF_SEARCH": "77", "SEARCH": "exact", "LOG_LEVEL": "info"}.items():
        monkeypatch.setenv(f"AGENTMEM_{key}", value)
    settings = load_settings(postgres_url="postgresql://localhost/x")
    assert settings.log_level == "INFO"
    pg, embedded = postgres_from_settings(settings)
    assert not embedded
    assert (pg.config.pool_min, pg.config.pool_max, pg.config.connect_timeout,
            pg.config.ef_search, pg.config.search) == (2, 3, 2.5, 77, "exact")
    monkeypatch.setenv("AGENTMEM_POOL_MAX", "1")
    with pytest.raises(ConfigError, match="AGENTMEM_POOL_MAX"):
        load_settings()
    monkeypatch.setenv("AGENTMEM_POOL_MAX", "3")
    monkeypatch.setenv("AGENTMEM_LOG_LEVEL", "loud")
    with pytest.raises(ConfigError, match="AGENTMEM_LOG_LEVEL"):
        load_settings()


def test_json_logs_are_one_object_per_line() -> None:
    record = logging.LogRecord("agentmem", logging.WARNING, __file__, 1, "not yet indexed: %s",
                               ("run reindex",), None)
    entry = json.loads(JsonFormatter().format(record))
    assert entry["level"] == "WARNING" and entry["logger"] == "agentmem"
    assert entry["message"] == "not yet indexed: run reindex" and entry["time"].endswith("+00:00")


def test_the_cli_logs_warnings_by_default_and_json_when_asked(tmp_path: Path) -> None:
    # The CLI's entry callback configures logging from the environment (default WARNING).
    script = ("import logging, sys; from agentmem.cli._app import main; main(False, False); "
              "logging.getLogger('agentmem').warning('shown'); "
              "logging.getLogger('agentmem').info('hidden')")
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                         env={"AGENTMEM_LOG_FORMAT": "json", "PATH": "/usr/bin:/bin"},
                         cwd=tmp_path, timeout=120)
    lines = [json.loads(line) for line in out.stderr.splitlines() if line.startswith("{")]
    assert [e["message"] for e in lines] == ["shown"], out.stderr
