"""The storage benchmark harness: its plain helpers, its ground truth, and a --quick run.

The smoke run starts real servers (embedded PostgreSQL, `chroma run`); if they cannot
start, the run fails and so does the test: nothing here skips.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from benchmarks.data import CellSpec, exact_top_k, exact_top_k_many, ground_truth, make_cell, row_id
from benchmarks.stats import mean, median, percentile, pick_at_recall, ratio, recall_at_k
from benchmarks.systems import SYSTEM_NAMES, rounds_for

REPO = Path(__file__).resolve().parent.parent

# -- recall@k --------------------------------------------------------------------------------


def test_recall_counts_true_ids_found() -> None:
    assert recall_at_k(["a", "b", "x"], ["a", "b", "c"], 3) == pytest.approx(2 / 3)


def test_recall_ignores_order_within_k() -> None:
    assert recall_at_k(["c", "a", "b"], ["a", "b", "c"], 3) == 1.0


def test_recall_of_nothing_found_is_zero() -> None:
    assert recall_at_k([], ["a", "b"], 2) == 0.0


def test_recall_with_nothing_to_find_is_one() -> None:
    assert recall_at_k([], [], 10) == 1.0


def test_recall_only_looks_at_the_first_k_of_each_list() -> None:
    # "c" is found but past k; "d" is true but past k.
    assert recall_at_k(["a", "x", "c"], ["a", "c", "d"], 2) == 0.5
    assert recall_at_k(["a", "c", "x", "d"], ["a", "c", "d", "e"], 2) == 1.0


def test_recall_with_fewer_true_ids_than_k() -> None:
    assert recall_at_k(["a", "b", "x"], ["a", "b"], 10) == 1.0


def test_recall_rejects_k_below_one() -> None:
    with pytest.raises(ValueError):
        recall_at_k(["a"], ["a"], 0)


# -- percentiles, medians, ratios -----------------------------------------------------------


def test_percentile_interpolates_like_numpy() -> None:
    values = [5.0, 1.0, 4.0, 2.0, 3.0, 10.0]
    for q in (0, 25, 50, 90, 95, 99, 100):
        assert percentile(values, q) == pytest.approx(float(np.percentile(values, q)))
    assert percentile([1.0, 2.0, 3.0, 4.0], 50) == 2.5
    assert percentile([7.0], 99) == 7.0


def test_percentile_rejects_no_values_and_bad_q() -> None:
    with pytest.raises(ValueError):
        percentile([], 50)
    with pytest.raises(ValueError):
        percentile([1.0], 101)


def test_median_skips_missing_values() -> None:
    assert median([3.0, None, 1.0, 2.0]) == 2.0
    assert median([None, None]) is None
    assert median([]) is None


def test_mean() -> None:
    assert mean([1.0, 2.0, 6.0]) == 3.0
    with pytest.raises(ValueError):
        mean([])


def test_ratio() -> None:
    assert ratio(3.0, 2.0) == 1.5
    assert ratio(None, 2.0) is None
    assert ratio(1.0, None) is None
    assert ratio(1.0, 0.0) is None


def test_pick_at_recall_takes_the_fastest_good_enough() -> None:
    cands = [("ef40", 0.90, 1.0), ("ef100", 0.99, 2.0), ("ef200", 1.0, 3.0)]
    assert pick_at_recall(cands, 0.99) == ("ef100", 0.99, 2.0)
    assert pick_at_recall(cands, 0.995) == ("ef100", 0.99, 2.0)  # within the 0.005 tolerance
    assert pick_at_recall(cands, 0.5) == ("ef40", 0.90, 1.0)


def test_pick_at_recall_falls_back_to_the_most_accurate() -> None:
    cands = [("ef40", 0.80, 1.0), ("ef200", 0.95, 3.0)]
    assert pick_at_recall(cands, 1.0) == ("ef200", 0.95, 3.0)
    assert pick_at_recall([], 1.0) is None


# -- the exact ground truth -----------------------------------------------------------------


def test_exact_top_k_on_obvious_vectors() -> None:
    m = np.array([[1, 0, 0], [0, 1, 0], [0, 0, 1], [1, 1, 0], [-1, 0, 0]], dtype=np.float32)
    assert list(exact_top_k(m, np.array([1.0, 0.1, 0.0]), 2)) == [0, 3]
    assert list(exact_top_k(m, np.array([0.0, 0.0, 2.0]), 1)) == [2]
    # the opposite vector is last; k larger than the rows returns them all, best first
    assert list(exact_top_k(m, np.array([1.0, 0.0, 0.0]), 10)) == [0, 3, 1, 2, 4]


def test_exact_top_k_is_by_cosine_not_length() -> None:
    m = np.array([[10.0, 10.0, 0.0], [1.0, 0.0, 0.0]])
    assert list(exact_top_k(m, np.array([1.0, 0.0, 0.0]), 1)) == [1]


def test_exact_top_k_many_matches_one_by_one() -> None:
    rng = np.random.default_rng(1)
    m, qs = rng.normal(size=(50, 3)), rng.normal(size=(7, 3))
    many = exact_top_k_many(m, qs, 5)
    for q, row in zip(qs, many):
        assert list(row) == list(exact_top_k(m, q, 5))


def test_ground_truth_stays_within_the_querys_agent() -> None:
    cell = make_cell(CellSpec("mixture", 300, "agents", agents=3, queries=12))
    truth = ground_truth(cell, 10)
    owner = {row_id(i): int(a) for i, a in enumerate(cell.row_agent)}
    for q_agent, ids in zip(cell.query_agent, truth):
        assert len(ids) == 10
        assert {owner[i] for i in ids} == {int(q_agent)}


def test_cells_are_reproducible_and_share_vectors_across_scenarios() -> None:
    a = make_cell(CellSpec("uniform", 200, "agents", agents=4, queries=5))
    b = make_cell(CellSpec("uniform", 200, "agents", agents=4, queries=5))
    single = make_cell(CellSpec("uniform", 200, "single", agents=4, queries=5))
    assert np.array_equal(a.vectors, b.vectors) and np.array_equal(a.queries, b.queries)
    assert np.array_equal(a.vectors, single.vectors)
    assert np.bincount(a.row_agent).tolist() == [50, 50, 50, 50]
    assert set(single.row_agent.tolist()) == {0}
    assert np.allclose(np.linalg.norm(a.vectors, axis=1), 1.0, atol=1e-5)


def test_system_selection() -> None:
    assert rounds_for(["psycopg"]) == {"psycopg": ("psycopg-exact", "psycopg-hnsw")}
    assert rounds_for(["agentmem-pgvector"]) == {"agentmem-pgvector": ("agentmem-pgvector",)}
    assert rounds_for(["langchain-agentmem"]) == {"agentmem-pgvector": ("langchain-agentmem",)}
    assert set(rounds_for(list(SYSTEM_NAMES))) == set(SYSTEM_NAMES) - {"langchain-agentmem"}
    with pytest.raises(ValueError):
        rounds_for(["nope"])


# -- a --quick run end to end ---------------------------------------------------------------


def test_quick_run_writes_json_markdown_and_plots(tmp_path: Path) -> None:
    out = tmp_path / "results"
    proc = subprocess.run(
        [sys.executable, "-m", "benchmarks", "store", "--quick", "--out", str(out),
         "--workdir", str(tmp_path / "work")],
        cwd=REPO, capture_output=True, text=True, timeout=600)
    latest = out / "store-latest.json"
    doc = json.loads(latest.read_text()) if latest.exists() else {"records": []}
    failed = [f"{r['round']} ({r['cell']}): {r['error']}" for r in doc["records"] if r["error"]]
    assert proc.returncode == 0 and not failed, "\n".join(failed) or proc.stderr[-4000:]
    by_system: dict[str, list[dict[str, Any]]] = {}
    for e in doc["results"]:
        by_system.setdefault(str(e["system"]), []).append(e)
    expected = {"agentmem-pgvector", "agentmem-chroma", "agentmem-hybrid", "langchain-agentmem",
                "langchain-agentmem/core", "pgvectorstore", "langchain-chroma", "chromadb",
                "psycopg-exact", "psycopg-exact-rows", "psycopg-hnsw-ef40", "psycopg-hnsw-ef100",
                "psycopg-hnsw-ef200",
                "numpy-exact"}
    assert expected <= set(by_system)
    for system, entries in by_system.items():
        for e in entries:
            assert e["repeats"] == 1, system
            assert isinstance(e["mean_rows"], float) and 0 < e["mean_rows"] <= 10, system
            assert isinstance(e["recall_at_k"], float) and 0 <= e["recall_at_k"] <= 1, system
            assert isinstance(e["p50_ms"], float) and e["p50_ms"] > 0, system
            assert isinstance(e["rss_peak_mb"], float) and e["rss_peak_mb"] > 0, system
    # exact systems find the truth (up to float32 near-ties)
    for system in ("numpy-exact", "psycopg-exact", "psycopg-exact-rows", "agentmem-pgvector"):
        assert all(e["recall_at_k"] >= 0.99 for e in by_system[system]), system
    for system in ("agentmem-pgvector", "pgvectorstore", "chromadb", "psycopg-exact"):
        assert all(isinstance(e["ingest_items_per_s"], float) for e in by_system[system])
    assert all(e["ingest_items_per_s"] is None for e in by_system["langchain-agentmem"])
    ratio_names = {r["ratio"] for r in doc["ratios"]}
    assert any(n.startswith("query p50: AgentMemVectorStore") for n in ratio_names)
    assert any(n.startswith("single-agent p50: agentmem-pgvector / raw HNSW") for n in ratio_names)
    assert any(n.startswith("one-agent recall p50") for n in ratio_names)
    pgvs = by_system["pgvectorstore"][0]["describe"]
    assert isinstance(pgvs, dict) and pgvs["hnsw_index"] is False

    md = (out / "store-latest.md").read_text()
    assert "| agentmem-pgvector |" in md and "## Ratios" in md and "rows (k=10)" in md
    for png in ("store-ingest.png", "store-latency.png", "store-recall-latency.png"):
        assert (out / png).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", png
    assert list(out.glob("store-2*.json"))
