"""A latency and error recorder for :class:`~agentmem.HybridMemory`, pure Python.

::

    metrics = Metrics()
    memory = HybridMemory.from_settings(metrics=metrics)
    memory.recall("theme?", "assistant-1")
    metrics.snapshot().operations["recall"].p95   # seconds, estimated from the buckets

Every public facade operation (named as its sync form: ``recall``, ``remember``, …) is
timed into a fixed-bucket histogram, counted, and its errors counted by type. With
``prometheus_client`` installed (``pip install 'agentmem-hybrid[metrics]'``) the same
figures, the store sizes and the process RSS can be scraped; mount them in an app::

    from agentmem.ops.metrics import asgi_app      # or wsgi_app for Flask/Django
    app.mount("/agentmem", asgi_app(memory))       # FastAPI/Starlette: /agentmem/metrics,
                                                   # /agentmem/healthz
"""

from __future__ import annotations

import bisect
import math
import threading
import time
from collections.abc import Coroutine, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from ..memory import HybridMemory
    from .exposition import ASGIApp, WSGIApp

__all__ = ["BUCKETS", "Metrics", "MetricsSnapshot", "OperationStats", "asgi_app",
           "bucket_quantile", "wsgi_app"]

T = TypeVar("T")

# Upper bounds (seconds) of the latency buckets; one more bucket holds what is slower.
BUCKETS: tuple[float, ...] = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25,
                              0.5, 1.0, 2.5, 5.0, 10.0)


def bucket_quantile(q: float, bounds: Sequence[float], counts: Sequence[int]) -> float | None:
    """The ``q`` quantile of a histogram, interpolated linearly inside its bucket.

    ``counts[i]`` observations fell in ``(bounds[i-1], bounds[i]]`` (the first bucket starts
    at 0); ``counts`` may have one more entry, the overflow bucket, whose quantiles are
    reported as the last bound (as Prometheus' ``histogram_quantile`` does). None if empty.
    """
    if not 0.0 <= q <= 1.0:
        raise ValueError(f"a quantile is in [0, 1], got {q!r}")
    total = sum(counts)
    if total == 0:
        return None
    rank, seen = q * total, 0
    for i, n in enumerate(counts):
        if n and seen + n >= rank:
            if i >= len(bounds):
                return bounds[-1]
            lower = bounds[i - 1] if i else 0.0
            return lower + (bounds[i] - lower) * max(rank - seen, 0.0) / n
        seen += n
    return bounds[-1]  # unreachable: the last non-empty bucket always reaches the total


@dataclass(frozen=True)
class OperationStats:
    """One operation's figures: calls, errors by type, latency buckets and estimates."""

    count: int
    errors: dict[str, int]
    total_seconds: float
    buckets: tuple[int, ...]  # per bucket of BUCKETS, then the overflow bucket
    min_seconds: float
    max_seconds: float

    def quantile(self, q: float) -> float | None:
        """The ``q`` latency quantile (seconds) from the buckets, within the observed range."""
        est = bucket_quantile(q, BUCKETS, self.buckets)
        return None if est is None else min(max(est, self.min_seconds), self.max_seconds)

    @property
    def p50(self) -> float | None:
        return self.quantile(0.5)

    @property
    def p95(self) -> float | None:
        return self.quantile(0.95)

    @property
    def error_count(self) -> int:
        return sum(self.errors.values())

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready figures (p50/p95 in seconds)."""
        return {"count": self.count, "errors": dict(self.errors),
                "error_count": self.error_count, "total_seconds": self.total_seconds,
                "p50": self.p50, "p95": self.p95}


@dataclass(frozen=True)
class MetricsSnapshot:
    """Every operation's figures at one moment, by operation name."""

    operations: dict[str, OperationStats] = field(default_factory=dict)

    def as_dict(self) -> dict[str, dict[str, Any]]:
        """JSON-ready figures per operation (p50/p95 in seconds)."""
        return {name: s.as_dict() for name, s in sorted(self.operations.items())}


class _Series:
    """The mutable figures of one operation (guarded by the recorder's lock)."""

    __slots__ = ("buckets", "count", "errors", "max", "min", "total")

    def __init__(self) -> None:
        self.count = 0
        self.total = 0.0
        self.min, self.max = math.inf, 0.0
        self.buckets = [0] * (len(BUCKETS) + 1)
        self.errors: dict[str, int] = {}


class Metrics:
    """Per-operation latency histograms, call counts and error counts; thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._series: dict[str, _Series] = {}

    def observe(self, operation: str, seconds: float, error: str | None = None) -> None:
        """Record one call of ``operation`` that took ``seconds`` (and failed with ``error``)."""
        if seconds < 0 or math.isnan(seconds):
            raise ValueError(f"a duration is a non-negative number of seconds, got {seconds!r}")
        index = bisect.bisect_left(BUCKETS, seconds)
        with self._lock:
            series = self._series.get(operation)
            if series is None:
                series = self._series[operation] = _Series()
            series.count += 1
            series.total += seconds
            series.min, series.max = min(series.min, seconds), max(series.max, seconds)
            series.buckets[index] += 1
            if error is not None:
                series.errors[error] = series.errors.get(error, 0) + 1

    async def measure(self, operation: str, coro: Coroutine[Any, Any, T]) -> T:
        """Await ``coro``, recording its latency and, if it raises, the error's type."""
        start = time.perf_counter()
        try:
            result = await coro
        except BaseException as exc:
            self.observe(operation, time.perf_counter() - start, type(exc).__name__)
            raise
        self.observe(operation, time.perf_counter() - start)
        return result

    def snapshot(self) -> MetricsSnapshot:
        """A consistent copy of every figure so far."""
        with self._lock:
            return MetricsSnapshot({
                name: OperationStats(s.count, dict(s.errors), s.total, tuple(s.buckets),
                                     s.min, s.max)
                for name, s in self._series.items()})

    def reset(self) -> None:
        """Forget every figure (e.g. between benchmark phases)."""
        with self._lock:
            self._series.clear()


def wsgi_app(memory: HybridMemory, *, size_ttl: float = 15.0) -> WSGIApp:
    """A WSGI app serving ``/metrics`` (Prometheus text) and ``/healthz`` for ``memory``."""
    from .exposition import wsgi_app as make

    return make(memory, size_ttl=size_ttl)


def asgi_app(memory: HybridMemory, *, size_ttl: float = 15.0) -> ASGIApp:
    """An ASGI app serving ``/metrics`` and ``/healthz`` for ``memory`` (mount it)."""
    from .exposition import asgi_app as make

    return make(memory, size_ttl=size_ttl)
