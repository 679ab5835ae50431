"""Memories and an embedding model for the LlamaIndex adapter tests.

Every memory embeds with ``HashingEmbedder(64)`` over the shared session servers (the
``pg_url`` database, Chroma's default prefix); tests keep apart by using fresh agent ids.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from llama_index.core.base.embeddings.base import BaseEmbedding

from agentmem import HashingEmbedder, HybridMemory
from llamaindex_agentmem.embeddings import AgentMemEmbedding
from tests.conftest import DIM, MODES, make_memory


def new_agent(tag: str = "li") -> str:
    return f"{tag}-{uuid.uuid4().hex[:12]}"


@pytest.fixture(scope="session")
def li_memories(pg_url: str, chroma_url: str) -> Iterator[dict[str, HybridMemory]]:
    """Per mode, an initialised memory embedding with ``HashingEmbedder(64)``."""
    made: dict[str, HybridMemory] = {}
    try:
        for mode in MODES:
            made[mode] = make_memory(mode, pg_url, chroma_url)
        yield made
    finally:
        for memory in made.values():
            memory.close()


@pytest.fixture(params=MODES)
def li_mode(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def li_memory(li_mode: str, li_memories: dict[str, HybridMemory]) -> HybridMemory:
    """The ``HashingEmbedder(64)`` memory of each mode in turn (pgvector, chroma, hybrid)."""
    return li_memories[li_mode]


@pytest.fixture
def li_embed_model() -> BaseEmbedding:
    """A LlamaIndex embedding model in the same space as ``li_memory``: HashingEmbedder(64)."""
    return AgentMemEmbedding(HashingEmbedder(DIM))
