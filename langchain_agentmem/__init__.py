"""LangChain and LangGraph classes over agentmem (``pip install 'agentmem-hybrid[langchain]'``)."""

from __future__ import annotations

__all__: list[str] = []
