"""LangChain and LangGraph classes over agentmem.

``pip install 'agentmem-hybrid[langchain]'``; ``AgentMemStore`` also needs the ``langgraph``
extra and is imported on first use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .chat_history import AgentMemChatMessageHistory
from .embeddings import LangChainEmbedder
from .llm import LangChainCompletion
from .retrievers import AgentMemRetriever
from .tools import RecallInput, RememberInput, memory_tools
from .vectorstores import AgentMemEmbeddings, AgentMemVectorStore

if TYPE_CHECKING:
    from .store import AgentMemStore

__all__ = [
    "AgentMemChatMessageHistory",
    "AgentMemEmbeddings",
    "AgentMemRetriever",
    "AgentMemStore",
    "AgentMemVectorStore",
    "LangChainCompletion",
    "LangChainEmbedder",
    "RecallInput",
    "RememberInput",
    "memory_tools",
]


def __getattr__(name: str) -> Any:
    if name == "AgentMemStore":
        try:
            from .store import AgentMemStore
        except ImportError as exc:
            raise ImportError(
                "AgentMemStore needs LangGraph: pip install 'agentmem-hybrid[langgraph]'"
            ) from exc
        return AgentMemStore
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
