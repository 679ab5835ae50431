"""Bad input, through the core API and every adapter, in every mode: a typed agentmem error
(or the documented safe handling) and the store unchanged.

The table is :mod:`tests.reliability.cases`; each case runs against a fresh, seeded agent on
the session's shared memories (one per mode). Hypothesis then throws random unicode
(surrogates included) and random JSON-ish metadata at ``remember`` and ``recall``.
"""

from __future__ import annotations

import json
import math
import uuid
from typing import Any

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from agentmem import HybridMemory, Memory, MemoryType
from agentmem.errors import AgentMemError
from tests.conftest import MODES
from tests.reliability.cases import CASES, DIM, LONG_WORD, SEED_SESSION, Case, Ctx

PARAMS = [pytest.param(c, mode, id=f"{mode}-{c.surface}-{c.name}")
          for c in CASES for mode in c.modes]


# Per (mode, memory): a seeded agent the last case left exactly as it found it, and its
# snapshot. Reusing only a verified-unchanged agent keeps cases apart and the file fast.
_UNCHANGED: dict[tuple[str, int], tuple[Ctx, tuple[Any, ...]]] = {}


def _seed(memory: HybridMemory, mode: str) -> Ctx:
    agent = f"bad-{uuid.uuid4().hex[:12]}"
    memory.remember_many([Memory(id="d", content="seed d", agent_id=agent, memory_type=MemoryType.SEMANTIC,
                                 metadata={"topic": "seed"}),
                          Memory(id="s", content="seed s", agent_id=agent)])
    memory.add_turn(SEED_SESSION, agent, "user", "hello")
    return Ctx(memory, agent, mode)


def _snapshot(memory: HybridMemory, agent: str) -> tuple[Any, ...]:
    """Everything an agent holds: memories (all types, with metadata), sessions and turns."""
    rows = sorted((m.id, m.content, m.memory_type.value, json.dumps(m.metadata, sort_keys=True),
                   m.updated_at, m.expires_at) for m in memory.memories(agent))
    sessions = memory.sessions(agent)
    turns = [(s, [(t.role, t.content, json.dumps(t.extra, sort_keys=True))
                  for t in memory.history(s, agent)]) for s in sessions]
    return rows, sessions, turns


def test_table_is_large_and_names_are_unique() -> None:
    names = [c.name for c in CASES]
    assert len(set(names)) == len(names), sorted(n for n in names if names.count(n) > 1)
    assert len(CASES) >= 100
    assert {c.surface for c in CASES} >= {"core", "lc_store", "lc_history", "lc_retriever",
                                          "lc_tools", "lg_store", "li_store", "li_chat",
                                          "li_db_chat", "li_block"}


@pytest.mark.parametrize(("bad", "mode"), PARAMS)
def test_bad_input(bad: Case, mode: str, hashing_memories: dict[str, HybridMemory]) -> None:
    memory = hashing_memories[mode]
    ctx, before = _UNCHANGED.pop((mode, id(memory)), (None, ()))
    if ctx is None:
        ctx = _seed(memory, mode)
        before = _snapshot(memory, ctx.agent)
    assert len(before[0]) == 2 and before[1] == [SEED_SESSION]
    if bad.error is None:
        result = bad.call(ctx)
        assert bad.check is not None and bad.check(result), f"unexpected result {result!r:.300}"
    else:
        with pytest.raises(bad.error) as caught:
            bad.call(ctx)
        assert str(caught.value), "a typed error must say what was wrong"
    after = _snapshot(ctx.memory, ctx.agent)
    assert after == before
    _UNCHANGED[(mode, id(memory))] = (ctx, after)


# -- hypothesis: random text and metadata round-trip or raise a typed error ----------------

ANY_CHAR = st.characters(codec=None, exclude_categories=())  # surrogates and NUL included
TEXT = st.text(ANY_CHAR, max_size=40)
SCALAR = (st.none() | st.booleans() | st.integers() | TEXT
          | st.floats(allow_nan=True, allow_infinity=True))
JSONISH = st.recursive(SCALAR, lambda inner: st.lists(inner, max_size=3)
                       | st.dictionaries(st.text(ANY_CHAR, max_size=8), inner, max_size=3),
                       max_leaves=10)
METADATA = st.dictionaries(st.text(ANY_CHAR, max_size=10), JSONISH, max_size=5)


def _same(a: Any, b: Any) -> bool:
    """Equality where a float keeps its value (JSON may turn 1.0 into 1 on some paths)."""
    if isinstance(a, float) or isinstance(b, float):
        return isinstance(a, (int, float)) and isinstance(b, (int, float)) and float(a) == float(b)
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    return type(a) is type(b) and a == b


@pytest.mark.parametrize("mode", MODES)
@settings(max_examples=30, deadline=None, database=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(text=TEXT, metadata=METADATA)
def test_random_text_and_metadata(mode: str, hashing_memories: dict[str, HybridMemory],
                                  text: str, metadata: dict[str, Any]) -> None:
    memory = hashing_memories[mode]
    agent = f"fuzz-{uuid.uuid4().hex[:12]}"
    try:
        stored = memory.remember(text, agent, metadata=metadata)
    except AgentMemError:
        event("refused with a typed error")
        assert memory.memories(agent) == []
    else:
        event("stored and read back")
        got = memory.get(stored.id, agent)
        assert got.content == text and _same(got.metadata, metadata)
        assert not any(isinstance(v, float) and not math.isfinite(v) for v in metadata.values())
    try:
        hits = memory.recall(text, agent, k=3)
    except AgentMemError:
        return
    assert all(math.isfinite(h.score) for h in hits)


@pytest.mark.parametrize("mode", MODES)
def test_limits_hold_at_the_edge(mode: str, hashing_memories: dict[str, HybridMemory]) -> None:
    """What the limits allow is stored and found in every mode (a limit, not a breakage)."""
    from agentmem._validate import MAX_QUERY_CHARS
    from agentmem.models import MAX_CONTENT_BYTES, MAX_DEPTH, MAX_METADATA_KEYS

    memory, agent = hashing_memories[mode], f"edge-{uuid.uuid4().hex[:12]}"
    nested: dict[str, Any] = {"v": 1}
    for _ in range(MAX_DEPTH - 1):
        nested = {"v": nested}
    words = " ".join(f"w{i:x}" for i in range(MAX_CONTENT_BYTES // 7))
    long = memory.remember((words + " zebra")[:MAX_CONTENT_BYTES - 20] + " y" + "q" * 300, agent,
                           metadata={f"k{i}": i for i in range(MAX_METADATA_KEYS)})
    deepest = memory.remember("deep zebra", agent, metadata={"n": nested["v"]})
    assert memory.get(long.id, agent).metadata["k255"] == 255
    assert memory.get(deepest.id, agent).metadata == {"n": nested["v"]}
    assert memory.memories(agent, filter={"k255": 255})[0].id == long.id
    hits = memory.recall(("zebra " * MAX_QUERY_CHARS)[:MAX_QUERY_CHARS], agent, k=2)
    assert {h.memory.id for h in hits} == {long.id, deepest.id}
    assert memory.recall_by_vector([1.0] + [0.0] * (DIM - 1), agent, k=2)


@pytest.mark.parametrize("mode", MODES)
def test_long_words_and_long_sessions_index(mode: str,
                                            hashing_memories: dict[str, HybridMemory]) -> None:
    """A word over PostgreSQL's 2,046-byte lexeme limit, and a session whose context turns
    add up to more than the 1 MB tsvector cap, are stored in every mode (the keyword index
    keeps what it can hold) and stay findable by their other words."""
    from agentmem.models import MAX_CONTENT_BYTES

    memory, agent = hashing_memories[mode], f"long-{uuid.uuid4().hex[:12]}"
    word = memory.remember("giraffe " + LONG_WORD + " 漢" * 1000, agent)
    session = [memory.remember(
        (f"okapi{i} " + " ".join(f"{i}u{j:x}" for j in range(MAX_CONTENT_BYTES // 8)))
        [:MAX_CONTENT_BYTES - 10], agent, session_id="long") for i in range(3)]
    assert memory.get(word.id, agent).content.startswith("giraffe " + LONG_WORD)
    assert [h.memory.id for h in memory.recall("giraffe", agent, k=1)] == [word.id]
    assert [h.memory.id for h in memory.recall("okapi2", agent, k=1)] == [session[2].id]


def test_context_turns_never_overflow_the_tsvector(pg_url: str) -> None:
    """With four context turns, a session's keyword text (five 256 KiB memories of
    100-character words) would pass PostgreSQL's 1 MB tsvector cap; the index keeps its last
    256 KiB, so every write succeeds and the newest memory is found by its own words."""
    from agentmem import HashingEmbedder, PostgresBackend
    from agentmem.models import MAX_CONTENT_BYTES
    from agentmem.retrieval import RetrievalConfig

    memory = HybridMemory(embedder=HashingEmbedder(DIM), postgres=PostgresBackend(pg_url),
                          retrieval=RetrievalConfig(context_turns=4))
    agent = f"ctx-{uuid.uuid4().hex[:12]}"
    try:
        made = [memory.remember(
            " ".join(f"n{i}w{j:06x}".ljust(100, "q") for j in range(MAX_CONTENT_BYTES // 102))
            + f" tapir{i}", agent, session_id="many") for i in range(5)]
        assert [h.memory.id for h in memory.search_text("tapir4", agent, k=1)] == [made[4].id]
    finally:
        memory.close()


def test_chroma_copies_no_more_than_the_key_limit(hashing_memories: dict[str, HybridMemory]
                                                  ) -> None:
    """A row past the metadata key limit that reaches Chroma without the facade (a reindex
    or restore of older data) copies at most MAX_METADATA_KEYS flat keys: the collection
    stays usable, the whole metadata is still read back, and filters reach the copied keys."""
    from agentmem._runner import shared_runner
    from agentmem.models import MAX_METADATA_KEYS

    memory, agent = hashing_memories["chroma"], f"keys-{uuid.uuid4().hex[:12]}"
    wide = {f"k{i}": i for i in range(6000)}
    row = Memory(content="wide row", agent_id=agent).model_copy(update={"metadata": wide})
    vector = memory.embedder.embed_documents(["wide row"])
    shared_runner().run(memory.backend.upsert([row], vector))
    assert memory.get(row.id, agent).metadata == wide
    assert [m.id for m in memory.memories(agent, filter={"k0": 0})] == [row.id]
    assert memory.memories(agent, filter={f"k{MAX_METADATA_KEYS}": MAX_METADATA_KEYS}) == []
    later = memory.remember("a later write", agent)
    assert {h.memory.id for h in memory.recall("row write", agent, k=5)} == {row.id, later.id}
