"""The one Chroma client factory and error mapping (backend and importers)."""

from __future__ import annotations

import base64
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import SplitResult, unquote, urlsplit

from ..errors import AgentMemError, BackendError, BackendUnavailable, ConfigError, DimensionMismatch
from ..settings import redact_url

if TYPE_CHECKING:
    from chromadb.api import ClientAPI

__all__ = ["chroma_call", "connect", "display_location", "is_http"]

T = TypeVar("T")


def is_http(location: str) -> bool:
    return location.startswith(("http://", "https://"))


def display_location(location: str) -> str:
    """``scheme://host:port`` for a server (nothing secret), the absolute path for a directory."""
    if not is_http(location):
        return str(Path(location).resolve())
    parts = urlsplit(location)
    try:
        port = parts.port
    except ValueError:  # reported when connecting; never echo what may be a secret
        port = None
    return f"{parts.scheme}://{parts.hostname}" + (f":{port}" if port else "")


def _unreachable(location: str) -> str:
    return (f"cannot reach the Chroma server at {display_location(location)}: start it "
            "(`chroma run --path DIR --port PORT`) or fix AGENTMEM_CHROMA_URL")


def _timed_out(location: str, timeout: float) -> str:
    return (f"the Chroma server at {display_location(location)} did not answer within "
            f"{timeout:g} s: check that it is healthy, or raise AGENTMEM_CHROMA_TIMEOUT")


def connect(location: str, *, timeout: float = 30.0) -> ClientAPI:
    """A client for a server URL (``http(s)://HOST:PORT``) or a local directory.

    Every HTTP call of a server client is bounded by ``timeout`` seconds: chromadb's own
    client waits forever, so the server is probed first (chromadb calls it while
    constructing) and its HTTP session is given the bound. Never attaches an embedding
    function: agentmem always passes its own vectors.
    """
    import chromadb
    from chromadb.config import Settings

    settings = Settings(anonymized_telemetry=False)
    if not is_http(location):
        try:
            return chromadb.PersistentClient(path=location, settings=settings)
        except ValueError as exc:
            # This process has the directory open already with chromadb's default settings
            # (langchain-chroma does that): chromadb insists that it be shared.
            if "already exists" not in str(exc):
                raise BackendError(f"cannot open the Chroma directory {location}: {exc}") from exc
            try:
                return chromadb.PersistentClient(path=location)
            except ValueError as again:
                raise BackendError(f"the Chroma directory {location} is open in this process "
                                   f"with other settings: {again}") from again
    parts = urlsplit(location)
    try:
        port = parts.port or (443 if parts.scheme == "https" else 8000)
    except ValueError as exc:
        raise ConfigError(f"invalid Chroma URL {display_location(location)!r}: {exc}") from exc
    if not parts.hostname or parts.path not in ("", "/"):
        raise ConfigError(f"invalid Chroma URL {redact_url(location)!r}: use http(s)://HOST:PORT")
    _probe(location, f"{parts.scheme}://{parts.netloc}", timeout)
    try:
        client = chromadb.HttpClient(host=parts.hostname, port=port, headers=_basic_auth(parts),
                                     ssl=parts.scheme == "https", settings=settings)
    except ValueError as exc:  # chromadb turns a refused connection into ValueError
        raise BackendUnavailable(_unreachable(location)) from exc
    _bound(client, timeout)
    return client


def _basic_auth(parts: SplitResult) -> dict[str, str] | None:
    """``user:password@`` in the URL, sent as HTTP basic auth (a proxy in front of Chroma)."""
    if parts.username is None:
        return None
    pair = f"{unquote(parts.username)}:{unquote(parts.password or '')}".encode()
    return {"Authorization": "Basic " + base64.b64encode(pair).decode()}


def _probe(location: str, base: str, timeout: float) -> None:
    """Fail fast, naming the server, when it does not answer a heartbeat within ``timeout``."""
    import httpx

    try:
        httpx.get(f"{base}/api/v2/heartbeat", timeout=timeout)
    except httpx.TimeoutException as exc:
        raise BackendUnavailable(_timed_out(location, timeout)) from exc
    except httpx.TransportError as exc:
        raise BackendUnavailable(_unreachable(location)) from exc


def _bound(client: ClientAPI, timeout: float) -> None:
    """Give the HTTP session under a chromadb client a timeout (chromadb sets none)."""
    import httpx

    session = getattr(getattr(client, "_server", None), "_session", None)
    if not isinstance(session, httpx.Client):
        raise BackendError("this chromadb version keeps its HTTP session elsewhere: agentmem "
                           "cannot bound its calls; install the chromadb version agentmem pins")
    session.timeout = httpx.Timeout(timeout)


def _raised_by_chromadb(exc: BaseException) -> bool:
    """True when the innermost frame of ``exc`` is chromadb's code, not agentmem's."""
    tb = exc.__traceback__
    while tb is not None and tb.tb_next is not None:
        tb = tb.tb_next
    if tb is None:
        return False
    module = tb.tb_frame.f_globals.get("__name__", "")
    return isinstance(module, str) and module.split(".")[0] in ("chromadb", "pydantic")


def chroma_call(location: str, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """Call into chromadb, mapping Chroma's own errors to agentmem's.

    Only exceptions chromadb raises are mapped (its ``ChromaError`` tree, transport errors,
    and the ``ValueError`` / ``TypeError`` it validates with); any other exception is a
    bug and propagates as it is, so a fallback never masks it.
    """
    import httpx
    from chromadb.errors import ChromaError

    try:
        return fn(*args, **kwargs)
    except AgentMemError:
        raise
    except httpx.TimeoutException as exc:
        raise BackendUnavailable(f"the Chroma server at {display_location(location)} did not "
                                 "answer in time (AGENTMEM_CHROMA_TIMEOUT): check that it is "
                                 "healthy") from exc
    except httpx.TransportError as exc:
        raise BackendUnavailable(_unreachable(location)) from exc
    except ChromaError as exc:
        if "dimension" in str(exc).lower():
            raise DimensionMismatch(f"Chroma rejected a vector: {exc}") from exc
        raise BackendError(f"Chroma at {display_location(location)} failed: {exc}") from exc
    except (ValueError, TypeError) as exc:
        if not _raised_by_chromadb(exc):
            raise
        raise BackendError(f"Chroma at {display_location(location)} rejected the call: "
                           f"{exc}") from exc
