"""What ``agentmem monitor`` and the Prometheus endpoint read: store sizes, RSS, scrapes.

Store sizes count rows, which is a scan on a large table, so readers at a steady rate
(scrapes, a live table) go through :class:`SizeCache` and read at most once per ``ttl``.
"""

from __future__ import annotations

import threading
import time
import urllib.request
from collections.abc import Coroutine
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any, TypeVar

from .._runner import shared_runner
from ..backends.base import Indexed, StoreSize, StoreSizes
from ..errors import BackendUnavailable, ConfigError
from .metrics import BUCKETS, OperationStats

if TYPE_CHECKING:
    from ..memory import HybridMemory

__all__ = ["SizeCache", "StoreReport", "process_rss", "scrape_operations", "store_report"]

T = TypeVar("T")


@dataclass(frozen=True)
class StoreReport:
    """The stores' sizes and, in hybrid mode, how many memories the index still lacks."""

    sizes: tuple[StoreSize, ...]
    pending_index: int | None

    def as_dict(self) -> dict[str, Any]:
        return {"stores": [asdict(s) for s in self.sizes], "pending_index": self.pending_index}


async def store_report(memory: HybridMemory, agent_id: str | None = None) -> StoreReport:
    """Read the sizes of ``memory``'s stores now (one agent's rows, or everyone's)."""
    backend = memory.backend
    if not isinstance(backend, StoreSizes):
        raise ConfigError(f"the {memory.mode} backend ({type(backend).__name__}) cannot report "
                          "its size: implement agentmem.backends.base.StoreSizes")

    async def read() -> StoreReport:
        sizes = await backend.sizes(agent_id)
        pending = await backend.pending_count(agent_id) if isinstance(backend, Indexed) else None
        return StoreReport(sizes, pending)

    metrics = memory.metrics
    return await (read() if metrics is None else metrics.measure("sizes", read()))


class SizeCache:
    """:func:`store_report`, read at most once per ``ttl`` seconds; thread-safe."""

    def __init__(self, memory: HybridMemory, agent_id: str | None = None, *,
                 ttl: float = 15.0) -> None:
        if ttl < 0:
            raise ConfigError(f"the size cache ttl is seconds >= 0, got {ttl!r}")
        self.memory, self.agent_id, self.ttl = memory, agent_id, ttl
        self._lock = threading.Lock()
        self._value: tuple[float, StoreReport] | None = None

    def _fresh(self) -> StoreReport | None:
        if self._value is not None and time.monotonic() - self._value[0] < self.ttl:
            return self._value[1]
        return None

    def get(self) -> StoreReport:
        """The cached report, re-read on agentmem's loop when older than ``ttl``; blocks."""
        with self._lock:
            cached = self._fresh()
            if cached is None:
                cached = _run(store_report(self.memory, self.agent_id))
                self._value = (time.monotonic(), cached)
            return cached


def _run(coro: Coroutine[Any, Any, T]) -> T:
    return shared_runner().run(coro)


def process_rss() -> int:
    """This process's resident set size in bytes."""
    try:
        import psutil
    except ImportError as exc:
        raise ImportError("process RSS needs psutil: pip install 'agentmem-hybrid[metrics]'"
                          ) from exc
    return int(psutil.Process().memory_info().rss)


def scrape_operations(url: str, *, timeout: float = 5.0) -> dict[str, Any]:
    """Fetch a ``serve-metrics`` endpoint and read back its figures: operations (count,
    errors, p50/p95 from the buckets) and the server's RSS."""
    try:
        from prometheus_client.parser import text_string_to_metric_families
    except ImportError as exc:
        raise ImportError("reading /metrics needs prometheus_client: pip install "
                          "'agentmem-hybrid[metrics]'") from exc
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:  # noqa: S310
            text = response.read().decode()
    except OSError as exc:
        raise BackendUnavailable(f"cannot read metrics from {url}: {exc}; is `agentmem "
                                 "serve-metrics` running there?") from exc
    cumulative: dict[str, dict[float, float]] = {}
    totals: dict[str, float] = {}
    errors: dict[str, dict[str, int]] = {}
    rss: float | None = None
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            op = s.labels.get("operation", "")
            if s.name == "agentmem_operation_duration_seconds_bucket":
                cumulative.setdefault(op, {})[float(s.labels["le"])] = s.value
            elif s.name == "agentmem_operation_duration_seconds_sum":
                totals[op] = s.value
            elif s.name == "agentmem_operation_errors_total":
                errors.setdefault(op, {})[s.labels["error"]] = int(s.value)
            elif s.name == "agentmem_process_resident_memory_bytes":
                rss = s.value
    operations: dict[str, Any] = {}
    for op, cum in cumulative.items():
        counts, before = [], 0.0
        for bound in (*BUCKETS, float("inf")):
            counts.append(int(cum.get(bound, before) - before))
            before = cum.get(bound, before)
        stats = OperationStats(int(before), errors.get(op, {}), totals.get(op, 0.0),
                               tuple(counts), 0.0, float("inf"))
        operations[op] = stats.as_dict()
    return {"operations": operations, "rss_bytes": None if rss is None else int(rss)}
