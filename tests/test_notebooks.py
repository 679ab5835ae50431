"""The tutorials in ``notebooks/`` run top to bottom offline, and are committed clean.

Each notebook runs in a real Jupyter kernel (nbclient) on the venv's own Python, with the
embedded default store and hashing embeddings; the notebooks set both themselves.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

import nbformat
import pytest
from jupyter_client.kernelspec import KernelSpecManager
from jupyter_client.manager import KernelManager
from nbclient import NotebookClient
from nbformat import NotebookNode

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = ROOT / "notebooks"
NAMES = ["01_quickstart", "02_langchain_agent_memory", "03_llamaindex_chat_engine_memory",
         "04_lifecycle_and_operations"]
CELL_TIMEOUT = 180  # seconds per cell; generous for a shared 2-core machine
RUN_LIMIT = 120  # seconds per notebook

# What each notebook must print: proof the memory calls did what the text says.
EXPECTED: dict[str, list[str]] = {
    "01_quickstart": [
        "mode: hybrid",
        "0.", "The user prefers dark mode",
        "procedure: To release the project, run make release then push the tag",
        "preferences: ['The user prefers dark mode', \"The user's favourite editor is Vim\"]",
        "     user: Yes, please keep it.",
        "by type: {'episodic': 1, 'semantic': 2, 'procedural': 1} | total: 4 | turns: 3",
        "deleted: 1", "deleted by filter: 1", "left: 2",
        "other agent sees: []",
    ],
    "02_langchain_agent_memory": [
        "retrieved: The user lives in Lisbon",
        "ui only: ['The user prefers dark mode']",
        "AI: You live in Lisbon, so I set the clock to Lisbon time.",
        "stored turns: ['human', 'ai', 'human', 'ai']",
        "notes for the model: the user likes hiking in the mountains",
        "AI: You told me you like hiking in the mountains.",
        "store item: fact-1 {'text': 'the user likes hiking in the mountains'}",
    ],
    "03_llamaindex_chat_engine_memory": [
        "top node: agentmem keeps PostgreSQL as the source of truth",
        "office only: ['The office coffee machine is on the third floor']",
        "sources: ['agentmem keeps PostgreSQL as the source of truth']",
        "turns in session kb-chat: ['user', 'assistant']",
        "- The user lives in Lisbon",
        "turns in session s-2: 2",
    ],
    "04_lifecycle_and_operations": [
        "working", "short_term", "permanent",
        "set_expiry changed: 1",
        "recall still sees: [\"The user's deploy target is staging\", \"The user's name is Ada\"]",
        "dry run: {'ops-agent': {'episodic': 1}} total 1",
        "cleaned: {'ops-agent': {'episodic': 1}} archived True",
        "archived: ['Scratch note: the nightly build is running']",
        "groups: 1", "derived_from", "related via recall: [\"The user's name is Ada\"]",
        "pending after flush: 0",
        '"name": "postgres"',
        "doctor exit code: 0",
        "cli stats total: 6",
        '"total": 0',
        "exported: 6 memories, 4 links, 0 turns", "forgotten: 6",
        "restored: 6 memories, vectors copied",
        "recall after restore: The user's deploy target is staging",
        "recall calls: 2 errors: 0", "monitor memories per store: [6, 6]",
    ],
}


def read_notebook(name: str) -> NotebookNode:
    nb: NotebookNode = nbformat.read(NOTEBOOKS / f"{name}.ipynb",  # type: ignore[no-untyped-call]
                                     as_version=4)
    return nb


def notebook_paths() -> list[Path]:
    return sorted(NOTEBOOKS.glob("*.ipynb"))


def test_the_notebooks_are_exactly_the_four_tutorials() -> None:
    assert [p.stem for p in notebook_paths()] == NAMES
    assert (NOTEBOOKS / "README.md").is_file()


@pytest.mark.parametrize("name", NAMES)
def test_committed_notebook_is_clean(name: str) -> None:
    nb = read_notebook(name)
    nbformat.validate(nb)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert code, "a tutorial without code"
    assert all(c.outputs == [] and c.execution_count is None for c in code), \
        "clear the outputs and execution counts before committing"
    first = code[0].source
    assert 'os.environ["AGENTMEM_EMBEDDINGS"] = "hashing:384"' in first
    assert 'os.environ["AGENTMEM_HOME"]' in first
    assert "memory.close()" in code[-1].source and "rmtree(HOME)" in code[-1].source


@pytest.fixture(scope="module")
def kernel_specs(tmp_path_factory: pytest.TempPathFactory) -> KernelSpecManager:
    """A ``python3`` kernelspec that runs this interpreter and imports this checkout."""
    kernels = tmp_path_factory.mktemp("kernels")
    spec_dir = kernels / "python3"
    spec_dir.mkdir()
    (spec_dir / "kernel.json").write_text(json.dumps({
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "agentmem tests", "language": "python",
        "env": {"PYTHONPATH": os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH"))
                                              if p)},
    }))
    return KernelSpecManager(kernel_dirs=[str(kernels)], ensure_native_kernel=False)


def run(nb: NotebookNode, cwd: Path, specs: KernelSpecManager) -> NotebookNode:
    """Execute ``nb`` in place in a fresh ``python3`` kernel started in ``cwd``."""
    km = KernelManager(kernel_name="python3", kernel_spec_manager=specs)
    client = NotebookClient(nb, km=km, timeout=CELL_TIMEOUT, allow_errors=False,
                            resources={"metadata": {"path": str(cwd)}})
    client.execute()
    return nb


def test_kernel_runs_this_python_and_this_checkout(tmp_path: Path,
                                                   kernel_specs: KernelSpecManager) -> None:
    cell = "import sys, agentmem; print(sys.executable); print(agentmem.__file__)"
    nb: NotebookNode = nbformat.v4.new_notebook(  # type: ignore[no-untyped-call]
        cells=[nbformat.v4.new_code_cell(cell)])  # type: ignore[no-untyped-call]
    executable, module = outputs_text(run(nb, tmp_path, kernel_specs)).split()
    assert Path(executable) == Path(sys.executable)
    assert Path(module).is_relative_to(ROOT)


def outputs_text(nb: NotebookNode) -> str:
    """Everything the executed notebook printed or displayed as text."""
    parts: list[str] = []
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            assert out.output_type != "error", f"{out.ename}: {out.evalue}"
            if out.output_type == "stream":
                parts.append(out.text)
            elif "text/plain" in out.get("data", {}):
                parts.append(out.data["text/plain"])
    return "".join(parts)


@pytest.mark.parametrize("name", NAMES)
def test_notebook_runs_offline(name: str, tmp_path: Path, kernel_specs: KernelSpecManager,
                               monkeypatch: pytest.MonkeyPatch) -> None:
    for key in [k for k in os.environ if k.startswith("AGENTMEM_")]:
        monkeypatch.delenv(key)  # the notebook configures itself
    nb = read_notebook(name)
    started = time.monotonic()
    run(nb, tmp_path, kernel_specs)
    elapsed = time.monotonic() - started
    text = outputs_text(nb)
    missing = [e for e in EXPECTED[name] if e not in text]
    assert not missing, f"missing from the output: {missing}\n--- output ---\n{text}"
    assert "store removed: True" in text
    assert str(ROOT) not in text.split("store directory:")[1].splitlines()[0]
    assert list(tmp_path.iterdir()) == [], "the notebook wrote into its working directory"
    assert elapsed < RUN_LIMIT, f"{name} took {elapsed:.0f}s"
