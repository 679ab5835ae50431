"""langchain-chroma ``Chroma`` over one collection on the run's Chroma server.

``Chroma.add_texts`` takes no vectors: it always calls its ``embedding_function``. The
public way to hand it precomputed vectors is therefore an ``Embeddings`` that returns
them: :class:`PrecomputedEmbeddings` is given each batch's vectors just before
``add_texts`` and hands them back by text (a dict lookup, no model). The collection is
made with cosine space (langchain-chroma's default is Chroma's l2; for unit vectors both
rank alike, cosine matches every other system here).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

import numpy as np
import numpy.typing as npt
from langchain_core.embeddings import Embeddings

from . import Batch, Env, QueryFn

__all__ = ["LangChainChromaSystem", "PrecomputedEmbeddings", "chroma_client"]


def chroma_client(url: str) -> Any:
    """A ``chromadb.HttpClient`` for ``http://host:port``, telemetry off."""
    import chromadb
    from chromadb.config import Settings

    parts = urlsplit(url)
    return chromadb.HttpClient(host=parts.hostname or "127.0.0.1", port=parts.port or 8000,
                               settings=Settings(anonymized_telemetry=False))


class PrecomputedEmbeddings(Embeddings):
    """Hands back vectors staged for the next ``embed_documents`` call, by text."""

    def __init__(self) -> None:
        self._staged: dict[str, list[float]] = {}

    def stage(self, texts: list[str], vectors: list[list[float]]) -> None:
        self._staged = dict(zip(texts, vectors))

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return [self._staged.pop(t) for t in texts]

    def embed_query(self, text: str) -> list[float]:
        raise RuntimeError("queries go in by vector; nothing may embed")


class LangChainChromaSystem:
    def __init__(self, env: Env) -> None:
        from langchain_chroma import Chroma

        self.client = chroma_client(env.chroma_url)
        self.embeddings = PrecomputedEmbeddings()
        self.store = Chroma(collection_name=f"{env.chroma_prefix}-lc", client=self.client,
                            embedding_function=self.embeddings,
                            collection_configuration={"hnsw": {"space": "cosine"}})
        self.max_batch = int(self.client.get_max_batch_size())

    def ingest(self, batch: Batch) -> None:
        vectors = batch.vectors.tolist()
        for s in range(0, len(batch.ids), self.max_batch):
            e = s + self.max_batch
            self.embeddings.stage(batch.contents[s:e], vectors[s:e])
            self.store.add_texts(batch.contents[s:e],
                                 metadatas=[{"agent_id": a} for a in batch.agents[s:e]],
                                 ids=batch.ids[s:e])

    def build_index(self) -> dict[str, float]:
        return {}  # Chroma grows its HNSW index as it writes

    def query(self, agent: str, vec: npt.NDArray[np.float32], k: int) -> list[str]:
        found = self.store.similarity_search_by_vector_with_relevance_scores(
            vec.tolist(), k=k, filter={"agent_id": agent})
        return [str(doc.id) for doc, _ in found]

    def paths(self) -> dict[str, QueryFn]:
        return {"langchain-chroma": self.query}

    def describe(self) -> dict[str, Any]:
        return {"ingest": "add_texts(texts, metadatas, ids) with an Embeddings that returns the "
                          "precomputed vectors",
                "call": "similarity_search_by_vector_with_relevance_scores(vec, k=k, "
                        "filter={'agent_id': a})",
                "space": "cosine"}

    def close(self) -> None:
        """Nothing to release: the HTTP client holds no server-side state."""
