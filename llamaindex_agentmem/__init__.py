"""LlamaIndex classes over agentmem (``pip install 'agentmem-hybrid[llamaindex]'``)."""

from __future__ import annotations

__all__: list[str] = []
