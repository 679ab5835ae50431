"""One event loop on a daemon thread per process: the async core's home.

Connection pools belong to one event loop. Running every coroutine of every memory on
this loop lets the sync API work anywhere (scripts, Jupyter's running loop, threads),
lets the async API be awaited from any other loop, and costs one thread per process, not
one per :class:`~agentmem.HybridMemory` (a server that builds a memory per request must
not leak threads).
"""

from __future__ import annotations

import asyncio
import atexit
import os
import threading
import weakref
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

T = TypeVar("T")

__all__ = ["LoopRunner", "shared_runner", "spawn"]


class LoopRunner:
    """An event loop running forever on its own daemon thread."""

    def __init__(self) -> None:
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="agentmem-loop",
                                        daemon=True)
        self._thread.start()

    @property
    def closed(self) -> bool:
        return self._loop.is_closed()

    def run(self, coro: Coroutine[Any, Any, T]) -> T:
        """Run ``coro`` on the loop and block until it finishes."""
        if threading.current_thread() is self._thread:
            coro.close()
            raise RuntimeError("a sync agentmem call cannot run inside agentmem's own loop; "
                               "await its async twin instead")
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result()

    async def arun(self, coro: Coroutine[Any, Any, T]) -> T:
        """Await ``coro`` on the loop from whatever loop the caller is on (directly if ours)."""
        if threading.current_thread() is self._thread:
            return await coro
        return await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(coro, self._loop))

    def run_or_spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        """Run ``coro`` to completion, or only schedule it when called on the loop itself."""
        if threading.current_thread() is self._thread:
            self._loop.create_task(coro)
        elif not self.closed:
            self.run(coro)
        else:
            coro.close()

    def settle(self, timeout: float) -> None:
        """Let the background work started by :func:`spawn` finish, up to ``timeout``."""
        if self.closed or not self._thread.is_alive():
            return

        async def others() -> None:
            pending = [t for t in _background if not t.done()]
            if pending:
                await asyncio.wait(pending, timeout=timeout)

        asyncio.run_coroutine_threadsafe(others(), self._loop).result(timeout + 5)

    def close(self) -> None:
        if self._loop.is_closed():
            return
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)
        self._loop.close()


_lock = threading.Lock()
_shared: LoopRunner | None = None
_background: weakref.WeakSet[asyncio.Task[Any]] = weakref.WeakSet()


def spawn(coro: Coroutine[Any, Any, T]) -> asyncio.Task[T]:
    """Start background work on the running loop; it is let finish at interpreter exit."""
    task = asyncio.get_running_loop().create_task(coro)
    _background.add(task)
    return task


def shared_runner() -> LoopRunner:
    """The process's runner, started on first use (and again in a forked child)."""
    global _shared
    with _lock:
        if _shared is None or _shared.closed:
            _shared = LoopRunner()
            _before_executors_stop(_settle_at_exit)
        return _shared


EXIT_SETTLE_SECONDS = 30.0


def _settle_at_exit() -> None:
    """At interpreter exit, finish background work while worker threads still run.

    Python stops ``concurrent.futures`` executors before ``atexit`` handlers (where the
    memories' finalizers close them) run; a copy to Chroma started then would fail with
    "cannot schedule new futures after shutdown".
    """
    runner = _shared
    if runner is not None:
        runner.settle(EXIT_SETTLE_SECONDS)


def _before_executors_stop(fn: Callable[[], None]) -> None:
    """Run ``fn`` at exit before the executors stop (CPython's hook for exactly this, used
    by concurrent.futures itself; hooks run last-registered first), else at ``atexit``."""
    import concurrent.futures.thread  # noqa: F401 - its hook must be registered before ours

    register = getattr(threading, "_register_atexit", None)
    if register is None:
        atexit.register(fn)
        return
    try:
        register(fn)
    except RuntimeError:  # already shutting down: too late for the early hook
        atexit.register(fn)


def _forget_after_fork() -> None:
    # The parent's loop thread does not exist in the child: start a fresh one on demand.
    global _shared, _lock
    _shared, _lock = None, threading.Lock()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_after_fork)
