"""Prometheus exposition of a memory: ``/metrics`` and ``/healthz`` as WSGI or ASGI apps.

``/metrics`` reads the memory's :class:`~agentmem.ops.metrics.Metrics` (if it has one),
the store sizes (through a :class:`~agentmem.ops.monitor.SizeCache`, so a scrape reads the
database at most once per ``size_ttl``) and the process RSS, all at scrape time, from a
custom collector in a registry of its own. ``/healthz`` answers 200 ``{"status": "ok"}``
when the source of truth answers, 503 with the error otherwise (in hybrid mode a down
Chroma is not unhealthy: recall is served from PostgreSQL).
"""

from __future__ import annotations

import asyncio
import json
import logging
import socketserver
from collections.abc import Awaitable, Callable, Iterable, Iterator, MutableMapping
from typing import TYPE_CHECKING, Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from .._runner import shared_runner
from ..errors import AgentMemError
from .metrics import BUCKETS
from .monitor import SizeCache, process_rss

try:
    from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
    from prometheus_client.metrics_core import (
        CounterMetricFamily,
        GaugeMetricFamily,
        HistogramMetricFamily,
        Metric,
    )
    from prometheus_client.registry import Collector
except ImportError as exc:  # pragma: no cover - exercised only without the extra
    raise ImportError("Prometheus exposition needs prometheus_client: pip install "
                      "'agentmem-hybrid[metrics]'") from exc

if TYPE_CHECKING:
    from ..memory import HybridMemory

__all__ = ["ASGIApp", "MemoryCollector", "WSGIApp", "asgi_app", "health", "registry_for",
           "serve", "wsgi_app"]

log = logging.getLogger("agentmem")

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]
Scope = MutableMapping[str, Any]
ASGIApp = Callable[[Scope, Callable[[], Awaitable[Any]], Callable[[Any], Awaitable[None]]],
                   Awaitable[None]]


class MemoryCollector(Collector):
    """The figures of one memory, read when Prometheus scrapes."""

    def __init__(self, memory: HybridMemory, sizes: SizeCache) -> None:
        self.memory, self.sizes = memory, sizes

    def collect(self) -> Iterator[Metric]:
        yield from self._operations()
        yield from self._cache()
        yield from self._stores()
        rss = GaugeMetricFamily("agentmem_process_resident_memory_bytes",
                                "Resident set size of this process.")
        rss.add_metric([], process_rss())
        yield rss

    def _operations(self) -> Iterator[Metric]:
        metrics = self.memory.metrics
        if metrics is None:
            return
        latency = HistogramMetricFamily("agentmem_operation_duration_seconds",
                                        "Latency of agentmem operations.", labels=["operation"])
        calls = CounterMetricFamily("agentmem_operations", "Calls of agentmem operations.",
                                    labels=["operation"])
        errors = CounterMetricFamily("agentmem_operation_errors",
                                     "Failed calls of agentmem operations, by error type.",
                                     labels=["operation", "error"])
        for name, stats in sorted(metrics.snapshot().operations.items()):
            cumulative, buckets = 0, []
            for bound, n in zip((*map(str, BUCKETS), "+Inf"), stats.buckets, strict=True):
                cumulative += n
                buckets.append((bound, float(cumulative)))
            latency.add_metric([name], buckets, stats.total_seconds)
            calls.add_metric([name], stats.count)
            for error, n in sorted(stats.errors.items()):
                errors.add_metric([name, error], n)
        yield from (latency, calls, errors)

    def _cache(self) -> Iterator[Metric]:
        cache = self.memory.cache
        if cache is None:
            return
        stats = cache.stats()
        families = {
            name: CounterMetricFamily(f"agentmem_cache_{name}", text, labels=["cache"])
            for name, text in (("hits", "Lookups the session cache answered."),
                               ("misses", "Lookups the session cache could not answer."),
                               ("evictions", "Entries the session cache dropped for room."))
        }
        size = GaugeMetricFamily("agentmem_cache_entries", "Entries in the session cache.",
                                 labels=["cache"])
        for label, counts in (("embeddings", stats.embeddings), ("recalls", stats.recalls)):
            for name, family in families.items():
                family.add_metric([label], getattr(counts, name))
            size.add_metric([label], counts.size)
        yield from (*families.values(), size)

    def _stores(self) -> Iterator[Metric]:
        up = GaugeMetricFamily("agentmem_store_up", "1 if the store sizes could be read.")
        try:
            report = self.sizes.get()
        except AgentMemError as exc:
            log.warning("store sizes unavailable for /metrics: %s", exc)
            up.add_metric([], 0)
            yield up
            return
        up.add_metric([], 1)
        yield up
        labels = ["store", "location"]
        families = {
            "memories": GaugeMetricFamily("agentmem_store_memories",
                                          "Memories stored (expired ones included).", labels=labels),
            "turns": GaugeMetricFamily("agentmem_store_turns", "Conversation turns stored.",
                                       labels=labels),
            "table_bytes": GaugeMetricFamily("agentmem_store_table_bytes",
                                             "Bytes of agentmem's tables, indexes included.",
                                             labels=labels),
            "index_bytes": GaugeMetricFamily("agentmem_store_index_bytes",
                                             "Bytes of the indexes of agentmem's tables.",
                                             labels=labels),
        }
        for size in report.sizes:
            for key, family in families.items():
                value = getattr(size, key)
                if value is not None:
                    family.add_metric([size.store, size.location], value)
        yield from families.values()
        if report.pending_index is not None:
            pending = GaugeMetricFamily("agentmem_index_pending",
                                        "Memories waiting to be copied to the Chroma index.")
            pending.add_metric([], report.pending_index)
            yield pending


def registry_for(memory: HybridMemory, *, size_ttl: float = 15.0) -> CollectorRegistry:
    """A registry of its own holding one :class:`MemoryCollector` for ``memory``."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(MemoryCollector(memory, SizeCache(memory, ttl=size_ttl)))
    return registry


async def health(memory: HybridMemory) -> tuple[int, dict[str, Any]]:
    """(HTTP status, JSON body): 200 when the source of truth answers, else 503 and why."""
    try:
        await shared_runner().arun(memory.backend.check(memory.info))
    except (AgentMemError, OSError) as exc:
        return 503, {"status": "error", "error": {"type": type(exc).__name__,
                                                  "message": str(exc)}}
    return 200, {"status": "ok", "mode": memory.mode}


def _route(path: str) -> str:
    """``metrics``, ``healthz`` or ``""``, wherever the app is mounted."""
    last = path.rstrip("/").rpartition("/")[2]
    return last if last in ("metrics", "healthz") else ""


_STATUS = {200: "200 OK", 404: "404 Not Found", 503: "503 Service Unavailable"}
_JSON = "application/json"


def wsgi_app(memory: HybridMemory, *, size_ttl: float = 15.0) -> WSGIApp:
    """A WSGI app: ``…/metrics`` (Prometheus text) and ``…/healthz`` (JSON)."""
    registry = registry_for(memory, size_ttl=size_ttl)

    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        route = _route(str(environ.get("PATH_INFO", "")))
        if route == "metrics":
            status, ctype, body = 200, CONTENT_TYPE_LATEST, generate_latest(registry)
        elif route == "healthz":
            code, doc = asyncio.run(health(memory))
            status, ctype, body = code, _JSON, json.dumps(doc).encode()
        else:
            status, ctype, body = 404, _JSON, b'{"error": "try /metrics or /healthz"}'
        start_response(_STATUS[status], [("Content-Type", ctype),
                                         ("Content-Length", str(len(body)))])
        return [body]

    return app


def asgi_app(memory: HybridMemory, *, size_ttl: float = 15.0) -> ASGIApp:
    """An ASGI app (mount it in FastAPI/Starlette): ``…/metrics`` and ``…/healthz``."""
    registry = registry_for(memory, size_ttl=size_ttl)

    async def app(scope: Scope, receive: Callable[[], Awaitable[Any]],
                  send: Callable[[Any], Awaitable[None]]) -> None:
        if scope["type"] == "lifespan":
            while (await receive())["type"] != "lifespan.shutdown":
                await send({"type": "lifespan.startup.complete"})
            await send({"type": "lifespan.shutdown.complete"})
            return
        route = _route(str(scope.get("path", "")))
        if route == "metrics":  # the collector blocks on agentmem's loop: not on this one
            status, ctype, body = 200, CONTENT_TYPE_LATEST, await asyncio.to_thread(
                generate_latest, registry)
        elif route == "healthz":
            status, doc = await health(memory)
            ctype, body = _JSON, json.dumps(doc).encode()
        else:
            status, ctype, body = 404, _JSON, b'{"error": "try /metrics or /healthz"}'
        await send({"type": "http.response.start", "status": status,
                    "headers": [(b"content-type", ctype.encode())]})
        await send({"type": "http.response.body", "body": body})

    return app


class _ThreadingServer(socketserver.ThreadingMixIn, WSGIServer):
    daemon_threads = True


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib's name
        log.debug("serve-metrics: " + format, *args)


def serve(memory: HybridMemory, host: str, port: int,
          ready: Callable[[str, int], None] | None = None, *, size_ttl: float = 15.0) -> None:
    """Serve :func:`wsgi_app` on ``host:port`` until interrupted; ``ready(host, port)`` is
    called once listening (port 0 picks a free one)."""
    server = make_server(host, port, wsgi_app(memory, size_ttl=size_ttl),
                         server_class=_ThreadingServer, handler_class=_QuietHandler)
    try:
        if ready is not None:
            ready(host, server.server_port)
        server.serve_forever()
    finally:
        server.server_close()
