"""Lint and types are part of the suite: ruff and strict mypy over package and tests."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


def _run(*cmd: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=600)


def test_ruff() -> None:
    result = _run(str(BIN / "ruff"), "check", "agentmem", "langchain_agentmem", "tests")
    assert result.returncode == 0, result.stdout + result.stderr


def test_mypy_strict() -> None:
    result = _run(str(BIN / "mypy"), "agentmem", "langchain_agentmem", "tests")
    assert result.returncode == 0, result.stdout + result.stderr
