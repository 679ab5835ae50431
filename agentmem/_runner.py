"""A private event loop on a daemon thread: the async core's home.

Connection pools belong to one event loop. Running every coroutine of a memory on its
own loop lets the sync API work anywhere (scripts, Jupyter's running loop, threads) and
lets the async API be awaited from any other loop, with one implementation of each call.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Coroutine
from typing import Any, TypeVar

T = TypeVar("T")

__all__ = ["LoopRunner"]


class LoopRunner:
    def __init__(self) -> None:
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="agentmem-loop",
                                        daemon=True)
        self._thread.start()

    @property
    def closed(self) -> bool:
        return self._loop.is_closed()

    def run(self, coro: Coroutine[Any, Any, T]) -> T:
        """Run ``coro`` on the private loop and block until it finishes."""
        if threading.current_thread() is self._thread:
            coro.close()
            raise RuntimeError("a sync agentmem call cannot run inside agentmem's own loop")
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result()

    async def arun(self, coro: Coroutine[Any, Any, T]) -> T:
        """Await ``coro`` on the private loop from whatever loop the caller is on."""
        return await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(coro, self._loop))

    def close(self) -> None:
        if self._loop.is_closed():
            return
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)
        self._loop.close()
