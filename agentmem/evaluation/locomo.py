"""LoCoMo retrieval benchmark: does the right turn come back?

Every turn of every conversation is stored as one episodic memory ("Speaker: text", with
the shared photo's caption) through the public API, one agent per conversation and one
session id per session. Every question of categories 1-4 is asked through ``recall`` with
the defaults a user gets. Turn-level evidence recall@k is ``|evidence ∩ top-k| /
|evidence|``, averaged over questions; session-level recall maps each id to its session.
Evidence entries are split on ";" and stripped; ids that name no turn of the conversation
are dropped, and a question left with no evidence is skipped (the data's own README).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from ..errors import InvalidInput
from ..memory import HybridMemory
from ..models import Memory, MemoryType

__all__ = ["CATEGORIES", "Conversation", "Question", "Report", "load", "run"]

CATEGORIES = {1: "multi-hop", 2: "temporal", 3: "open-domain", 4: "single-hop"}


@dataclass(frozen=True)
class Question:
    text: str
    category: int
    evidence: tuple[str, ...]  # dia ids, cleaned by the rule above


@dataclass(frozen=True)
class Conversation:
    sample_id: str
    turns: tuple[Memory, ...]
    questions: tuple[Question, ...]


@dataclass
class Report:
    """Recall in percent, overall and per category, at each k; turn- and session-level."""

    ks: list[int]
    questions: int
    turn: dict[int, float] = field(default_factory=dict)
    session: dict[int, float] = field(default_factory=dict)
    by_category: dict[str, dict[int, float]] = field(default_factory=dict)
    session_by_category: dict[str, dict[int, float]] = field(default_factory=dict)

    def as_json(self) -> dict[str, Any]:
        return {"recall_at": {str(k): v for k, v in self.turn.items()},
                "by_category": {c: {str(k): v for k, v in r.items()}
                                for c, r in self.by_category.items()},
                "session_recall_at": {str(k): v for k, v in self.session.items()},
                "session_by_category": {c: {str(k): v for k, v in r.items()}
                                        for c, r in self.session_by_category.items()},
                "questions": self.questions}


def _session_of(dia_id: str) -> str:
    return dia_id.split(":", 1)[0]  # "D3:5" -> "D3"


def _when(text: str | None) -> datetime | None:
    """A LoCoMo session time ("1:56 pm on 8 May, 2023") as UTC, None if unreadable."""
    try:
        return datetime.strptime(str(text), "%I:%M %p on %d %B, %Y").replace(tzinfo=timezone.utc)
    except ValueError:
        return None


def _turn_text(turn: dict[str, Any]) -> str:
    text = f"{turn['speaker']}: {turn['text']}"
    if turn.get("blip_caption"):
        text += f" [shares a photo: {turn['blip_caption']}]"
    return text


def load(path: Path | str) -> list[Conversation]:
    """The conversations of a LoCoMo JSON file, as memories and scored questions."""
    try:
        samples = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise InvalidInput(f"cannot read LoCoMo data from {path}: {exc}") from exc
    if not isinstance(samples, list):
        raise InvalidInput(f"{path}: expected a JSON list of LoCoMo samples")
    out = []
    for sample in samples:
        conv, agent = sample["conversation"], str(sample["sample_id"])
        turns: list[Memory] = []
        n = 1
        while f"session_{n}" in conv:
            start = _when(conv.get(f"session_{n}_date_time"))
            for i, turn in enumerate(conv[f"session_{n}"]):
                fields: dict[str, Any] = {
                    "id": str(turn["dia_id"]), "content": _turn_text(turn), "agent_id": agent,
                    "memory_type": MemoryType.EPISODIC, "session_id": f"session_{n}",
                    "metadata": {"dia_id": str(turn["dia_id"]), "speaker": str(turn["speaker"])}}
                if start is not None:
                    fields["created_at"] = start + timedelta(seconds=i)
                turns.append(Memory(**fields))
            n += 1
        known = {t.id for t in turns}
        questions = []
        for qa in sample["qa"]:
            if qa.get("category") not in CATEGORIES:
                continue
            evidence = [e.strip() for entry in qa.get("evidence", []) for e in str(entry).split(";")]
            kept = tuple(dict.fromkeys(e for e in evidence if e in known))
            if kept:
                questions.append(Question(str(qa["question"]), int(qa["category"]), kept))
        out.append(Conversation(agent, tuple(turns), tuple(questions)))
    return out


def _recall_at(found: Sequence[str], wanted: Iterable[str], k: int) -> float:
    want = set(wanted)
    return len(want & set(found[:k])) / len(want)


def run(memory: HybridMemory, conversations: Sequence[Conversation], ks: Sequence[int],
        progress: Callable[[int], None] | None = None) -> Report:
    """Store every conversation, ask every question, and score the answers' evidence.

    Recall runs as ``memory`` is configured (its ``retrieval``), for ablations."""
    if not ks or min(ks) < 1:
        raise InvalidInput(f"k values must be positive, got {list(ks)!r}")
    ks = sorted(set(ks))
    for conv in conversations:
        memory.remember_many(list(conv.turns))
    scores: dict[str, dict[int, list[float]]] = {"turn": {}, "session": {}}
    per_cat: dict[str, dict[str, dict[int, list[float]]]] = {"turn": {}, "session": {}}
    for conv in conversations:
        for q in conv.questions:
            hits = memory.recall(q.text, conv.sample_id, k=ks[-1])
            ids = [h.memory.id for h in hits]
            sessions = list(dict.fromkeys(_session_of(i) for i in ids))
            evidence_sessions = [_session_of(e) for e in q.evidence]
            for level, found, wanted in (("turn", ids, list(q.evidence)),
                                         ("session", sessions, evidence_sessions)):
                cat = per_cat[level].setdefault(CATEGORIES[q.category], {})
                for k in ks:
                    value = _recall_at(found, wanted, k)
                    scores[level].setdefault(k, []).append(value)
                    cat.setdefault(k, []).append(value)
            if progress is not None:
                progress(1)

    def pct(values: list[float]) -> float:
        return round(100.0 * sum(values) / len(values), 1)

    n = sum(len(c.questions) for c in conversations)
    report = Report(ks=list(ks), questions=n)
    if n:
        report.turn = {k: pct(v) for k, v in scores["turn"].items()}
        report.session = {k: pct(v) for k, v in scores["session"].items()}
        order = list(CATEGORIES.values())
        for level, target in (("turn", report.by_category), ("session", report.session_by_category)):
            for name in sorted(per_cat[level], key=order.index):
                target[name] = {k: pct(v) for k, v in per_cat[level][name].items()}
    return report
