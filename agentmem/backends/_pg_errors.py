"""The one mapping of psycopg errors to agentmem errors (backend and importers)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import psycopg
from psycopg_pool import PoolTimeout

from ..errors import AgentMemError, BackendError, BackendUnavailable, InvalidInput
from ..settings import redact_url, url_secrets

__all__ = ["postgres_errors"]

_FIX = "Start the server or fix AGENTMEM_POSTGRES_URL."


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
    except (psycopg.OperationalError, PoolTimeout) as exc:
        raise BackendUnavailable(f"could not reach {role} at {where}: "
                                 f"{_scrub(str(exc), url)}. {fix}".rstrip()) from exc
    except psycopg.errors.DataError as exc:
        raise InvalidInput(f"{role} rejected the data: {_scrub(str(exc), url)}") from exc
    except psycopg.Error as exc:
        raise BackendError(f"{role} at {where} failed: {_scrub(str(exc), url)}") from exc
