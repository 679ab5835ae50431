"""Memories for the LangChain adapter tests, one per mode, opened once per session.

Two families share the session servers: memories embedding with ``HashingEmbedder(64)``
(the shared ``pg_url`` database, Chroma prefix ``agentmem``) and memories embedding with
LangChain's ``DeterministicFakeEmbedding`` of the standard suites (dimension 6: a database
and a Chroma prefix of their own). Tests keep apart by using fresh agent ids.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from langchain_core.embeddings import DeterministicFakeEmbedding
from langchain_tests.integration_tests.vectorstores import EMBEDDING_SIZE

from agentmem import HybridMemory
from langchain_agentmem.embeddings import LangChainEmbedder
from tests.conftest import MODES, make_memory

FAKE_PREFIX = f"lc-fake{EMBEDDING_SIZE}"


def fake_embedding() -> DeterministicFakeEmbedding:
    """The embedding model langchain_tests' vector store suite uses."""
    return DeterministicFakeEmbedding(size=EMBEDDING_SIZE)


def new_agent(tag: str = "lc") -> str:
    return f"{tag}-{uuid.uuid4().hex[:12]}"


@pytest.fixture(scope="session")
def fake_pg_url(new_database: Callable[[], str]) -> str:
    """A database of its own for the fake embedding's dimension (initialised by its memories)."""
    return new_database()


@pytest.fixture(scope="session")
def fake_memories(fake_pg_url: str, chroma_url: str) -> Iterator[dict[str, HybridMemory]]:
    """Per mode, a memory embedding with ``LangChainEmbedder(DeterministicFakeEmbedding)``."""
    made: dict[str, HybridMemory] = {}
    try:
        for mode in MODES:
            made[mode] = make_memory(mode, fake_pg_url, chroma_url, EMBEDDING_SIZE,
                                     embedder=LangChainEmbedder(fake_embedding()),
                                     prefix=FAKE_PREFIX)
        yield made
    finally:
        for memory in made.values():
            memory.close()


@pytest.fixture
def lc_memory(mode: str, hashing_memories: dict[str, HybridMemory]) -> HybridMemory:
    """The hashing memory of each mode in turn."""
    return hashing_memories[mode]


@pytest.fixture
def no_executor(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make LangChain's sync-in-a-thread fallback fail loudly if anything reaches it."""
    import langchain_core.retrievers
    import langchain_core.vectorstores.base

    def trap(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError(f"executor fallback used for {args[1:2]}")

    monkeypatch.setattr(langchain_core.vectorstores.base, "run_in_executor", trap)
    monkeypatch.setattr(langchain_core.retrievers, "run_in_executor", trap)
