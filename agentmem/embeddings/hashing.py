"""A deterministic, dependency-free embedder for tests and offline use.

Feature hashing of word unigrams, word bigrams and character trigrams into a signed,
L2-normalised vector: texts that share words land close together, the same text always
gives the same vector, on every machine and in every process.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence

import numpy as np

from ..errors import InvalidInput
from .base import SyncEmbedderMixin

__all__ = ["HashingEmbedder"]

_WORD = re.compile(r"\w+", re.UNICODE)


class HashingEmbedder(SyncEmbedderMixin):
    """Signed feature hashing; ``model_id`` is ``hashing-v1``, dimension as given."""

    def __init__(self, dimension: int = 384) -> None:
        if not isinstance(dimension, int) or isinstance(dimension, bool) or not 2 <= dimension <= 16000:
            raise InvalidInput(f"hashing dimension must be an int in [2, 16000], got {dimension!r}")
        self._dimension = dimension

    @property
    def model_id(self) -> str:
        return "hashing-v1"

    @property
    def dimension(self) -> int:
        return self._dimension

    def embed_documents(self, texts: Sequence[str]) -> list[list[float]]:
        return [self._embed(t) for t in texts]

    def _embed(self, text: str) -> list[float]:
        if not isinstance(text, str):
            raise InvalidInput(f"can only embed text, got {type(text).__name__}")
        vec = np.zeros(self._dimension, dtype=np.float64)
        words = _WORD.findall(text.lower())
        features = [f"w:{w}" for w in words]
        features += [f"b:{a} {b}" for a, b in zip(words, words[1:])]
        features += [f"c:{w[i:i + 3]}" for w in words for i in range(max(1, len(w) - 2))]
        for feature in features:
            digest = hashlib.blake2b(feature.encode("utf-8"), digest_size=8).digest()
            h = int.from_bytes(digest, "little")
            weight = 1.0 if feature[0] != "c" else 0.5
            vec[h % self._dimension] += weight if (h >> 63) & 1 else -weight
        norm = float(np.linalg.norm(vec))
        if norm == 0.0:
            # Text with no word characters still needs a valid, non-zero direction.
            vec[0] = 1.0
            norm = 1.0
        out: list[float] = (vec / norm).tolist()
        return out
