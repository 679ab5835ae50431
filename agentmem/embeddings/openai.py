"""Embeddings from the OpenAI API or any OpenAI-compatible server (vLLM, Ollama, LiteLLM, …).

Rate limits are retried by the ``openai`` client itself (``max_retries``; it honours
``429`` with ``Retry-After``); what is still failing after that is mapped to the agentmem
error tree here, with the client's exception kept as ``__cause__``.
"""

from __future__ import annotations

import asyncio
import os
import threading
import weakref
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, NoReturn

from ..errors import (
    BackendError,
    BackendUnavailable,
    ConfigError,
    DimensionMismatch,
    InvalidInput,
)

if TYPE_CHECKING:
    from openai import AsyncOpenAI, OpenAI
    from openai.types import CreateEmbeddingResponse

__all__ = ["OpenAIEmbedder"]

#: Native output sizes of OpenAI's own embedding models.
KNOWN_DIMENSIONS: dict[str, int] = {
    "text-embedding-3-small": 1536,
    "text-embedding-3-large": 3072,
    "text-embedding-ada-002": 1536,
}
#: Models that accept the ``dimensions`` request parameter (shortened outputs).
_SHORTENABLE = frozenset({"text-embedding-3-small", "text-embedding-3-large"})
#: The API takes at most this many inputs in one request.
_MAX_BATCH = 2048
_PROBE_TEXT = "dimension probe"
# Sent when a base_url is set but no key is: the client insists on one, and
# OpenAI-compatible servers without auth ignore it.
_PLACEHOLDER_KEY = "EMPTY"


def _import_openai() -> Any:
    try:
        import openai
    except ImportError as exc:
        raise ImportError(
            "OpenAIEmbedder needs the openai package: pip install 'agentmem-hybrid[openai]'"
        ) from exc
    return openai


class OpenAIEmbedder:
    """Embedder backed by ``POST /embeddings`` of the OpenAI API or a compatible server."""

    def __init__(
        self,
        model: str = "text-embedding-3-small",
        *,
        api_key: str | None = None,
        base_url: str | None = None,
        dimension: int | None = None,
        batch_size: int = 512,
        max_retries: int = 6,
        timeout: float = 60.0,
    ) -> None:
        self._openai = _import_openai()
        if not isinstance(model, str) or not model.strip():
            raise InvalidInput(f"model must be a non-empty string, got {model!r}")
        if isinstance(batch_size, bool) or not isinstance(batch_size, int) or not (
            1 <= batch_size <= _MAX_BATCH
        ):
            raise InvalidInput(f"batch_size must be an int in [1, {_MAX_BATCH}], got {batch_size!r}")
        if isinstance(max_retries, bool) or not isinstance(max_retries, int) or max_retries < 0:
            raise InvalidInput(f"max_retries must be an int >= 0, got {max_retries!r}")
        if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or timeout <= 0:
            raise InvalidInput(f"timeout must be a number of seconds > 0, got {timeout!r}")

        base_url = base_url or os.environ.get("OPENAI_BASE_URL") or None
        api_key = api_key or os.environ.get("OPENAI_API_KEY") or None
        if api_key is None and base_url is None:
            raise ConfigError(
                "OpenAIEmbedder needs an API key: set OPENAI_API_KEY or pass api_key=..., "
                "or pass base_url=... for an OpenAI-compatible server that needs no key"
            )

        self._model = model
        self._api_key = api_key or _PLACEHOLDER_KEY
        self._base_url = base_url
        self._batch_size = batch_size
        self._max_retries = max_retries
        self._timeout = float(timeout)
        self._request_dimensions: int | None = None  # the `dimensions` request parameter
        self._dimension: int | None = self._resolve_dimension(model, dimension)
        self._client_lock = threading.Lock()
        self._probe_lock = threading.Lock()
        self._client: OpenAI | None = None
        # One async client per event loop: an httpx async pool must not outlive its loop.
        self._aclients: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, AsyncOpenAI] = (
            weakref.WeakKeyDictionary()
        )

    def _resolve_dimension(self, model: str, dimension: int | None) -> int | None:
        native = KNOWN_DIMENSIONS.get(model)
        if dimension is None:
            return native
        if isinstance(dimension, bool) or not isinstance(dimension, int) or dimension < 1:
            raise InvalidInput(f"dimension must be a positive int, got {dimension!r}")
        if native is not None and dimension != native:
            if model not in _SHORTENABLE:
                raise InvalidInput(
                    f"{model} always returns {native} dimensions and cannot be shortened; "
                    f"drop dimension={dimension} or use a text-embedding-3 model"
                )
            if dimension > native:
                raise InvalidInput(f"{model} supports at most {native} dimensions, got {dimension}")
            self._request_dimensions = dimension
        # For a model we do not know, `dimension` only states what to expect: it is not
        # sent, since many compatible servers reject the parameter.
        return dimension

    @property
    def model(self) -> str:
        return self._model

    @property
    def base_url(self) -> str:
        """The API root requests go to (OpenAI's own when none was given)."""
        return self._base_url or "https://api.openai.com/v1"

    @property
    def model_id(self) -> str:
        suffix = f":{self._request_dimensions}" if self._request_dimensions is not None else ""
        return f"openai:{self._model}{suffix}"

    @property
    def dimension(self) -> int:
        """The vector length; for a model not known here, found once by embedding a probe."""
        if self._dimension is None:
            with self._probe_lock:
                if self._dimension is None:
                    self._embed_batch_sync([_PROBE_TEXT])
        assert self._dimension is not None  # set by _check_vectors
        return self._dimension

    # -- clients -----------------------------------------------------------------------

    def _client_kwargs(self) -> dict[str, Any]:
        return {
            "api_key": self._api_key,
            "base_url": self._base_url,
            "max_retries": self._max_retries,
            "timeout": self._timeout,
        }

    def _sync_client(self) -> OpenAI:
        if self._client is None:
            with self._client_lock:
                if self._client is None:
                    self._client = self._openai.OpenAI(**self._client_kwargs())
        return self._client

    def _async_client(self) -> AsyncOpenAI:
        loop = asyncio.get_running_loop()
        client = self._aclients.get(loop)
        if client is None:
            client = self._openai.AsyncOpenAI(**self._client_kwargs())
            self._aclients[loop] = client
        return client

    def close(self) -> None:
        """Close the synchronous client's connections (a later call opens new ones)."""
        with self._client_lock:
            client, self._client = self._client, None
        if client is not None:
            client.close()

    # -- embedding ---------------------------------------------------------------------

    def embed_documents(self, texts: Sequence[str]) -> list[list[float]]:
        batch = _validated(texts)
        out: list[list[float]] = []
        for start in range(0, len(batch), self._batch_size):
            out.extend(self._embed_batch_sync(batch[start : start + self._batch_size]))
        return out

    def embed_query(self, text: str) -> list[float]:
        return self.embed_documents([text])[0]

    async def aembed_documents(self, texts: Sequence[str]) -> list[list[float]]:
        batch = _validated(texts)
        out: list[list[float]] = []
        # Batches go one after another: sending them at once would only meet the rate limit.
        for start in range(0, len(batch), self._batch_size):
            out.extend(await self._embed_batch_async(batch[start : start + self._batch_size]))
        return out

    async def aembed_query(self, text: str) -> list[float]:
        return (await self.aembed_documents([text]))[0]

    def _embed_batch_sync(self, batch: list[str]) -> list[list[float]]:
        client = self._sync_client()
        try:
            if self._request_dimensions is None:
                response = client.embeddings.create(
                    model=self._model, input=batch, encoding_format="float"
                )
            else:
                response = client.embeddings.create(
                    model=self._model,
                    input=batch,
                    encoding_format="float",
                    dimensions=self._request_dimensions,
                )
        except self._openai.OpenAIError as exc:
            self._raise_mapped(exc)
        return self._check_vectors(response, len(batch))

    async def _embed_batch_async(self, batch: list[str]) -> list[list[float]]:
        client = self._async_client()
        try:
            if self._request_dimensions is None:
                response = await client.embeddings.create(
                    model=self._model, input=batch, encoding_format="float"
                )
            else:
                response = await client.embeddings.create(
                    model=self._model,
                    input=batch,
                    encoding_format="float",
                    dimensions=self._request_dimensions,
                )
        except self._openai.OpenAIError as exc:
            self._raise_mapped(exc)
        return self._check_vectors(response, len(batch))

    def _check_vectors(self, response: CreateEmbeddingResponse, expected: int) -> list[list[float]]:
        items = sorted(response.data or [], key=lambda item: item.index)
        if [item.index for item in items] != list(range(expected)):
            raise BackendError(
                f"embeddings API at {self.base_url} answered {len(items)} embeddings with "
                f"indexes {[item.index for item in items][:10]} for {expected} inputs"
            )
        vectors = [[float(x) for x in item.embedding] for item in items]
        if self._dimension is None:
            # A model we do not know: its first answer tells the dimension, kept from now on.
            self._dimension = len(vectors[0])
        for vector in vectors:
            if len(vector) != self._dimension:
                raise DimensionMismatch(
                    f"{self._model} at {self.base_url} returned a vector of length {len(vector)}, "
                    f"expected {self._dimension}; check the model name and dimension=..."
                )
        return vectors

    def _raise_mapped(self, exc: Exception) -> NoReturn:
        """Re-raise an ``openai`` exception as the matching agentmem error."""
        openai = self._openai
        if isinstance(exc, (openai.AuthenticationError, openai.PermissionDeniedError)):
            raise ConfigError(
                f"the embeddings API at {self.base_url} refused the credentials "
                f"(HTTP {exc.status_code}): set OPENAI_API_KEY or pass api_key=... "
                "with a key that may use this model"
            ) from exc
        if isinstance(exc, openai.APIConnectionError):
            what = "timed out" if isinstance(exc, openai.APITimeoutError) else "could not be reached"
            raise BackendUnavailable(
                f"the embeddings API at {self.base_url} {what} "
                f"(after {self._max_retries} retries): {exc}"
            ) from exc
        if isinstance(exc, openai.APIStatusError):
            raise BackendError(
                f"the embeddings API at {self.base_url} answered HTTP {exc.status_code} "
                f"for model {self._model!r}: {exc.message}"
            ) from exc
        raise BackendError(f"the embeddings API at {self.base_url} failed: {exc}") from exc


def _validated(texts: Sequence[str]) -> list[str]:
    """Check every input up front, so a bad text costs no request."""
    if isinstance(texts, str):
        raise InvalidInput("embed_documents takes a sequence of texts, not one string")
    batch = list(texts)
    for i, text in enumerate(batch):
        if not isinstance(text, str):
            raise InvalidInput(f"can only embed text, got {type(text).__name__} at index {i}")
        if not text.strip():
            raise InvalidInput(f"cannot embed empty or whitespace-only text (index {i})")
    return batch
