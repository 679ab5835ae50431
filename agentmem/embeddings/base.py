"""The one embedding protocol every provider implements."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Protocol, runtime_checkable

__all__ = ["Embedder", "SyncEmbedderMixin"]


@runtime_checkable
class Embedder(Protocol):
    """Turns text into fixed-size vectors; knows its model id and dimension."""

    @property
    def model_id(self) -> str:
        """A stable name of the model, recorded by stores to catch mismatches."""
        ...

    @property
    def dimension(self) -> int:
        """Length of every vector this embedder returns."""
        ...

    def embed_documents(self, texts: Sequence[str]) -> list[list[float]]: ...

    def embed_query(self, text: str) -> list[float]: ...

    async def aembed_documents(self, texts: Sequence[str]) -> list[list[float]]: ...

    async def aembed_query(self, text: str) -> list[float]: ...


class SyncEmbedderMixin:
    """Async twins for an embedder whose work is local CPU: run it off the event loop."""

    def embed_documents(self, texts: Sequence[str]) -> list[list[float]]:
        raise NotImplementedError

    def embed_query(self, text: str) -> list[float]:
        return self.embed_documents([text])[0]

    async def aembed_documents(self, texts: Sequence[str]) -> list[list[float]]:
        return await asyncio.to_thread(self.embed_documents, list(texts))

    async def aembed_query(self, text: str) -> list[float]:
        return await asyncio.to_thread(self.embed_query, text)
