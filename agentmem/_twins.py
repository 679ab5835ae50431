"""Sync twins derived from async methods: one implementation, signature and docstring.

::

    @on_loop
    async def arecall(self, query: str, agent_id: str, ...) -> list[MemoryHit]:
        \"\"\"The k memories closest to query.\"\"\"
        ...

    recall = sync_twin(arecall)

``arecall`` runs on agentmem's loop whatever loop awaits it; ``recall`` blocks on it.
When the object has a :class:`~agentmem.ops.metrics.Metrics` recorder as ``metrics``, both
are timed as one operation, ``recall``; without one they cost nothing extra.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Coroutine
from typing import Any, Concatenate, ParamSpec, TypeVar

from ._runner import shared_runner

__all__ = ["on_loop", "sync_twin"]

S = TypeVar("S")
P = ParamSpec("P")
T = TypeVar("T")

AsyncMethod = Callable[Concatenate[S, P], Coroutine[Any, Any, T]]


def _measured(owner: object, operation: str,
              coro: Coroutine[Any, Any, T]) -> Coroutine[Any, Any, T]:
    """``coro``, timed into ``owner.metrics`` when it has a recorder."""
    metrics = getattr(owner, "metrics", None)
    return coro if metrics is None else metrics.measure(operation, coro)


def on_loop(fn: AsyncMethod[S, P, T]) -> AsyncMethod[S, P, T]:
    """Make an async method run on agentmem's loop, awaited from any loop."""
    operation = fn.__name__.removeprefix("a")

    @functools.wraps(fn)
    async def run(self: S, /, *args: P.args, **kwargs: P.kwargs) -> T:
        return await shared_runner().arun(_measured(self, operation, fn(self, *args, **kwargs)))

    run.__agentmem_impl__ = fn  # type: ignore[attr-defined]
    return run


def sync_twin(afn: AsyncMethod[S, P, T]) -> Callable[Concatenate[S, P], T]:
    """The blocking twin of an :func:`on_loop` method (``arecall`` -> ``recall``)."""
    impl: AsyncMethod[S, P, T] = getattr(afn, "__agentmem_impl__", afn)
    name = afn.__name__.removeprefix("a")

    @functools.wraps(afn)
    def run(self: S, /, *args: P.args, **kwargs: P.kwargs) -> T:
        return shared_runner().run(_measured(self, name, impl(self, *args, **kwargs)))

    run.__name__ = name
    run.__qualname__ = f"{afn.__qualname__.rpartition('.')[0]}.{name}".lstrip(".")
    return run
