"""LlamaIndex classes over agentmem (``pip install 'agentmem-hybrid[llamaindex]'``)."""

from __future__ import annotations

from .chat_store import AgentMemChatStore, AgentMemDBChatStore
from .embeddings import AgentMemEmbedding, LlamaIndexEmbedder
from .llm import LlamaIndexCompletion
from .memory_blocks import (
    EpisodicMemoryBlock,
    HeuristicFactExtractor,
    LLMFactExtractor,
    ProceduralMemoryBlock,
    SemanticMemoryBlock,
)
from .vector_store import AgentMemVectorStore, to_agentmem_filter

__all__ = [
    "AgentMemChatStore",
    "AgentMemDBChatStore",
    "AgentMemEmbedding",
    "AgentMemVectorStore",
    "EpisodicMemoryBlock",
    "HeuristicFactExtractor",
    "LLMFactExtractor",
    "LlamaIndexCompletion",
    "LlamaIndexEmbedder",
    "ProceduralMemoryBlock",
    "SemanticMemoryBlock",
    "to_agentmem_filter",
]
