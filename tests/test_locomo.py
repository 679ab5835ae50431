"""``agentmem bench locomo`` on a tiny LoCoMo-shaped file made here (the real split is licensed
and lives outside the repository)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from agentmem.evaluation import locomo

TINY = [{
    "sample_id": "conv-t",
    "conversation": {
        "speaker_a": "Ann", "speaker_b": "Bo",
        "session_1_date_time": "1:56 pm on 8 May, 2023",
        "session_1": [
            {"speaker": "Ann", "dia_id": "D1:1", "text": "I adopted a puppy named Rex yesterday."},
            {"speaker": "Bo", "dia_id": "D1:2", "text": "Lovely! I started learning the violin."}],
        "session_2_date_time": "10:00 am on 9 June, 2023",
        "session_2": [
            {"speaker": "Ann", "dia_id": "D2:1", "text": "Rex chewed my shoes.",
             "blip_caption": "a dog on a rug"},
            {"speaker": "Bo", "dia_id": "D2:2", "text": "My violin teacher is strict."}]},
    "qa": [
        {"question": "What is the name of Ann's puppy?", "answer": "Rex", "evidence": ["D1:1"],
         "category": 4},
        {"question": "What instrument does Bo play?", "answer": "violin",
         "evidence": ["D1:2; D2:2"], "category": 1},
        {"question": "Unanswerable?", "answer": "", "evidence": ["D1:1"], "category": 5},
        {"question": "Evidence that names no turn", "answer": "", "evidence": ["D9:9"],
         "category": 2}]}]


@pytest.fixture
def tiny(tmp_path: Path) -> Path:
    path = tmp_path / "tiny.json"
    path.write_text(json.dumps(TINY))
    return path


def test_load_applies_the_evidence_rule(tiny: Path) -> None:
    [conv] = locomo.load(tiny)
    assert [t.id for t in conv.turns] == ["D1:1", "D1:2", "D2:1", "D2:2"]
    assert conv.turns[2].content == "Ann: Rex chewed my shoes. [shares a photo: a dog on a rug]"
    assert conv.turns[0].session_id == "session_1" and conv.turns[0].created_at.year == 2023
    assert conv.turns[1].created_at > conv.turns[0].created_at
    # category 5 and the question left without evidence are skipped; "a; b" is split
    assert [(q.category, q.evidence) for q in conv.questions] == [
        (4, ("D1:1",)), (1, ("D1:2", "D2:2"))]


def test_recall_at_k_counts_each_evidence_turn() -> None:
    assert locomo._recall_at(["a", "b", "c"], ["b", "z"], 1) == 0.0
    assert locomo._recall_at(["a", "b", "c"], ["b", "z"], 2) == 0.5
    assert locomo._recall_at(["a", "b"], ["a", "b"], 5) == 1.0


def test_bench_command_prints_recall_per_k_and_category(tiny: Path, tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "agentmem.cli", "bench", "locomo", "--data", str(tiny), "--k", "1,2,4",
         "--json", "--embeddings", "hashing:64"],
        capture_output=True, text=True, timeout=300, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    doc = json.loads(proc.stdout)
    assert doc["questions"] == 2
    assert set(doc["recall_at"]) == {"1", "2", "4"} and set(doc["by_category"]) == {
        "multi-hop", "single-hop"}
    # k=4 returns every turn of the conversation: all evidence is found
    assert doc["recall_at"]["4"] == doc["session_recall_at"]["4"] == 100.0
    values = [doc["recall_at"][k] for k in ("1", "2", "4")]
    assert values == sorted(values)  # recall@k never falls as k grows (prefix-stable recall)
    # "Rex" and "puppy" are shared words: the single-hop question finds its turn first
    assert doc["by_category"]["single-hop"]["1"] == 100.0
    assert not (tmp_path / ".agentmem").exists()  # the bench's store is its own, temporary
