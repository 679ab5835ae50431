"""`agentmem demo` reads right: with the default model each query's best match is the one a
person would pick, on every mode."""

from __future__ import annotations

import io
import uuid
from collections.abc import Iterator

import pytest
from rich.console import Console

from agentmem import ChromaBackend, ConfigError, Embedder, HybridMemory, PostgresBackend
from agentmem.demo import ISOLATION, OPS, QUERIES, TUTOR, demo_memories, run_demo
from agentmem.embeddings import HashingEmbedder, embedder_from_spec
from tests.conftest import MODES

PYTHON_HELP = {"The user's preferred programming language is Python",
               "Successfully helped the user debug their Python code"}
DEBUG_HOWTO = "To debug Python code: reproduce, read the traceback, add a failing test, fix"
# Each demo query and the memories that may come first for it.
EXPECTED_TOP = {
    (TUTOR, "Help with programming"): PYTHON_HELP,
    (TUTOR, "how do I fix a bug?"): {DEBUG_HOWTO},
    (OPS, "how do I change the database password"): {
        "To rotate a database password: create the new secret, roll the pods, revoke the "
        "old one"},
    (OPS, "what went wrong with the Chroma server?"): {
        "Restarted the Chroma server after a disk-full alert"},
}


@pytest.fixture(scope="module")
def minilm() -> Embedder:
    """What ``auto`` gives where the model is installed, as the README's command installs it."""
    embedder = embedder_from_spec("auto")
    assert embedder.model_id == "sentence-transformers:all-MiniLM-L6-v2"
    return embedder


@pytest.fixture(params=MODES)
def demo_memory(request: pytest.FixtureRequest, new_database, chroma_url: str,  # type: ignore[no-untyped-def]
                minilm: Embedder) -> Iterator[HybridMemory]:
    mode = str(request.param)
    memory = HybridMemory(
        embedder=minilm,
        postgres=PostgresBackend(new_database()) if mode != "chroma" else None,
        chroma=ChromaBackend(chroma_url, prefix=f"d{uuid.uuid4().hex[:12]}")
        if mode != "pgvector" else None)
    yield memory
    memory.close()


def test_queries_cover_the_expectations() -> None:
    assert set(QUERIES) == set(EXPECTED_TOP)


def test_demo_best_matches_read_right(demo_memory: HybridMemory) -> None:
    out = io.StringIO()
    run_demo(demo_memory, Console(file=out, width=200))
    assert "sentence-transformers:all-MiniLM-L6-v2" in out.getvalue()
    for (agent, query), best in EXPECTED_TOP.items():
        hits = demo_memory.recall(query, agent, k=3)
        assert hits[0].memory.content in best, (query, [h.memory.content for h in hits])
        assert hits[0].score > 0.5, (query, hits[0].score)  # a clear match, not a tie
    help_hits = [h.memory.content for h in demo_memory.recall("Help with programming", TUTOR, k=2)]
    assert set(help_hits) == PYTHON_HELP  # the neural-networks episode is neither first nor second
    agent, query = ISOLATION
    assert all(h.memory.agent_id == OPS for h in demo_memory.recall(query, agent, k=10))
    assert f"{OPS} asking {query!r} finds 0 of {TUTOR}'s memories" in out.getvalue()


def test_demo_sessions_are_episodes_only() -> None:
    """Facts and procedures belong to no conversation, so session signals leave them alone."""
    memories = demo_memories()
    assert all(m.session_id is None for m in memories if m.memory_type.value != "episodic")
    sessions = {m.session_id for m in memories if m.session_id is not None}
    assert len(sessions) >= 2  # not every episode of one conversation


def test_auto_falls_back_to_hashing_without_the_model(monkeypatch: pytest.MonkeyPatch) -> None:
    import agentmem.embeddings.sentence_transformers as st

    monkeypatch.setattr(st, "bundled_minilm_path", lambda: None)
    embedder = embedder_from_spec("auto")
    assert isinstance(embedder, HashingEmbedder) and embedder.dimension == 384
    with pytest.raises(ConfigError, match="'auto' takes nothing after it"):
        embedder_from_spec("auto:384")
