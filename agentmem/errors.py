"""The agentmem error tree.

Every error raised by agentmem derives from :class:`AgentMemError`; driver
exceptions are mapped to these at the backend boundary, with the original kept
as ``__cause__``. Messages say what was wrong and how to fix it.
"""

from __future__ import annotations

__all__ = [
    "AgentMemError",
    "BackendError",
    "BackendUnavailable",
    "CompletionError",
    "ConfigError",
    "DimensionMismatch",
    "InvalidFilter",
    "InvalidInput",
    "NotFound",
]


class AgentMemError(Exception):
    """Base class of every error agentmem raises."""


class ConfigError(AgentMemError, ValueError):
    """Settings are missing, malformed, or the store is not initialised."""


class InvalidInput(AgentMemError, ValueError):
    """An argument is invalid: empty text, a bad id, an out-of-range number."""


class InvalidFilter(InvalidInput):
    """A metadata filter uses an unknown operator, a bad field name or a bad value."""


class DimensionMismatch(AgentMemError, ValueError):
    """A vector or embedder does not match the dimension or model a store was built with."""


class NotFound(AgentMemError, LookupError):
    """A memory that was asked for by id does not exist for that agent."""


class BackendUnavailable(AgentMemError, ConnectionError):
    """A database or index server could not be reached."""


class BackendError(AgentMemError):
    """A backend rejected an operation for a reason other than reachability."""


class CompletionError(AgentMemError, ValueError):
    """A language model's answer was not in the form its prompt asked for."""
