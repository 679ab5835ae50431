"""Memories and an embedding model for the LlamaIndex adapter tests.

Every memory embeds with ``HashingEmbedder(64)`` over the shared session servers (the
``pg_url`` database, Chroma's default prefix); tests keep apart by using fresh agent ids.
"""

from __future__ import annotations

import uuid

import pytest
from llama_index.core.base.embeddings.base import BaseEmbedding

from agentmem import HashingEmbedder, HybridMemory
from llamaindex_agentmem.embeddings import AgentMemEmbedding
from tests.conftest import DIM


def new_agent(tag: str = "li") -> str:
    return f"{tag}-{uuid.uuid4().hex[:12]}"


@pytest.fixture
def li_memory(mode: str, hashing_memories: dict[str, HybridMemory]) -> HybridMemory:
    """The ``HashingEmbedder(64)`` memory of each mode in turn (pgvector, chroma, hybrid)."""
    return hashing_memories[mode]


@pytest.fixture
def li_embed_model() -> BaseEmbedding:
    """A LlamaIndex embedding model in the same space as ``li_memory``: HashingEmbedder(64)."""
    return AgentMemEmbedding(HashingEmbedder(DIM))
