"""The one mapping of psycopg errors to agentmem errors (backend and importers).

Errors are classified by SQLSTATE class, not by the driver's exception class (psycopg
files a deadlock and a program limit under ``OperationalError`` alongside a lost
connection): see :func:`classify`.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from typing import Literal, TypeVar

import psycopg
from psycopg_pool import PoolTimeout

from ..errors import AgentMemError, BackendError, BackendUnavailable, InvalidInput
from ..settings import redact_url, url_secrets

__all__ = ["Attempt", "Kind", "classify", "postgres_errors", "retrying"]

T = TypeVar("T")
log = logging.getLogger("agentmem")

_FIX = "Start the server or fix AGENTMEM_POSTGRES_URL."

Kind = Literal["unavailable", "conflict", "invalid", "failed"]

# Operator intervention that means "the server is going away": 57P01 admin shutdown,
# 57P02 crash shutdown, 57P03 cannot connect now (starting up or shutting down).
_GOING_AWAY = frozenset({"57P01", "57P02", "57P03"})
_CONFLICT = frozenset({"40001", "40P01"})  # serialization failure, deadlock detected


def classify(exc: BaseException) -> Kind:
    """What a driver error means for the caller.

    ``unavailable``: no connection (class 08, a failed connect, a pool timeout, the server
    shutting down); ``conflict``: a serialization failure or deadlock, whose transaction
    was rolled back and may be retried; ``invalid``: the data or the request exceeds what
    the server accepts (classes 22 data exception, 54 program limit exceeded); ``failed``:
    anything else.
    """
    if isinstance(exc, PoolTimeout):
        return "unavailable"
    state = getattr(exc, "sqlstate", None)
    if state is None:
        # No SQLSTATE: the driver itself lost or never had a connection.
        return "unavailable" if isinstance(exc, psycopg.OperationalError) else "failed"
    if state.startswith("08") or state in _GOING_AWAY:
        return "unavailable"
    if state in _CONFLICT:
        return "conflict"
    if state.startswith(("22", "54")):
        return "invalid"
    return "failed"


def _scrub(message: str, url: str) -> str:
    """A driver message, stripped, with every secret of the URL (should one appear) masked."""
    message = message.strip()
    for secret in url_secrets(url):
        message = message.replace(secret, "***")
    return message


@contextmanager
def postgres_errors(url: str, *, role: str = "PostgreSQL", fix: str = _FIX) -> Iterator[None]:
    """Map driver errors raised inside to agentmem errors naming ``role`` at ``url``.

    The original error is kept as ``__cause__``; agentmem's own errors pass through.
    """
    where = redact_url(url)
    try:
        yield
    except AgentMemError:
        raise
    except (psycopg.Error, PoolTimeout) as exc:
        kind, text = classify(exc), _scrub(str(exc), url)
        if kind == "unavailable":
            raise BackendUnavailable(f"could not reach {role} at {where}: {text}. "
                                     f"{fix}".rstrip()) from exc
        if kind == "conflict":
            raise BackendError(
                f"{role} at {where} aborted the transaction ({text}): another transaction "
                "held the same rows, and it still conflicted after the retries "
                "(AGENTMEM_RETRIES); retry later or shorten the other transaction") from exc
        if kind == "invalid":
            raise InvalidInput(
                f"{role} rejected the request: {text}. Shorten or split the input (very "
                "long texts, queries or deeply nested filters exceed server limits)") from exc
        raise BackendError(f"{role} at {where} failed: {text}") from exc


class Attempt:
    """One try of a unit of work; it sets ``committing`` just before its COMMIT is sent."""

    committing: bool = False


def _retryable(exc: BaseException, attempt: Attempt, idempotent: bool) -> bool:
    """Whether a failed try may run again without ever applying its writes twice.

    A conflict was rolled back by the server. A lost connection before COMMIT was sent
    rolled back too; during COMMIT it may have committed, so only idempotent work (keyed
    upserts, deletes, reads) is run again then. A failed connect is not retried here:
    the pool already waited ``connect_timeout`` for one.
    """
    if isinstance(exc, PoolTimeout) or not isinstance(exc, psycopg.Error):
        return False
    kind = classify(exc)
    if kind == "conflict":
        return True
    return kind == "unavailable" and (idempotent or not attempt.committing)


async def retrying(run: Callable[[Attempt], Awaitable[T]], *, attempts: int,
                   idempotent: bool = True, on_drop: Callable[[], Awaitable[None]] | None = None,
                   base: float = 0.05, cap: float = 2.0) -> T:
    """``run`` until it succeeds, at most ``attempts`` times, with exponential backoff
    (``base`` doubling up to ``cap`` seconds, times a random 0.5..1.5) between tries.

    ``run`` raises agentmem errors whose cause is the driver's; ``on_drop`` runs after a
    lost connection (the pool discards its other dead connections).
    """
    for n in range(1, attempts + 1):
        attempt = Attempt()
        try:
            return await run(attempt)
        except AgentMemError as exc:
            cause = exc.__cause__
            if n == attempts or cause is None or not _retryable(cause, attempt, idempotent):
                raise
            log.info("retrying after %s (attempt %d of %d)", classify(cause), n, attempts)
            if on_drop is not None and classify(cause) == "unavailable":
                await on_drop()
        await asyncio.sleep(min(cap, base * 2 ** (n - 1)) * (0.5 + random.random()))
    raise AssertionError("unreachable: the last attempt returns or raises")
