"""``/metrics`` in Prometheus' text format (prometheus-client), correct across the API's worker processes.

- Per request (``RequestMetrics``, the outermost middleware, or ``record_request`` from the verify by hash
  answered before it, ``api.fast_hash``): ``provenance_http_requests_total`` and
  ``provenance_http_request_duration_seconds`` by route template (never the raw path: hashes would make a series
  each), method and status.
- Decoding: ``provenance_decode_waiting`` / ``provenance_decode_active`` (summed over live workers) and
  ``provenance_decode_rejections_total`` (503 ``busy``); the verify path's steps in
  ``provenance_verify_step_seconds`` (decode and hashes, exact and pixel lookups, perceptual matching, total).
- Read from the database when scraped (``StoreCollector``, once per scrape, not per worker): the anchoring queue
  (registrations and retractions not yet anchored, the oldest one's age) and the index lag (blocks between the chain
  head seen and the block indexed, seconds since the indexer last wrote its checkpoint).

Multiprocess mode: ``python -m api`` sets ``PROMETHEUS_MULTIPROC_DIR`` (a fresh directory) before its workers start;
each worker writes its samples there and a scrape, answered by any worker, merges them. Without it (tests, one
process) the default registry is used.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from typing import Any

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.multiprocess import MultiProcessCollector, mark_process_dead
from prometheus_client.registry import Collector

from ledger.adapters.store.outbox import queue_stats
from ledger.usecases.context import Context
from ledger.usecases.verify import index_freshness

LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)

REQUESTS = Counter("provenance_http_requests", "HTTP requests answered", ["route", "method", "status"])
LATENCY = Histogram("provenance_http_request_duration_seconds", "Time to answer an HTTP request",
                    ["route", "method"], buckets=LATENCY_BUCKETS)  # fmt: skip
DECODE_WAITING = Gauge("provenance_decode_waiting", "Requests waiting for a decoding slot", multiprocess_mode="livesum")
DECODE_ACTIVE = Gauge("provenance_decode_active", "Decodes running", multiprocess_mode="livesum")
DECODE_REJECTIONS = Counter("provenance_decode_rejections", "Requests refused with 503 busy (decoding queue full or waited too long)")
VERIFY_STEPS = Histogram("provenance_verify_step_seconds", "Time of each step of verifying an upload", ["step"],
                         buckets=LATENCY_BUCKETS)  # fmt: skip
UNMATCHED = "unmatched"  # the route label of requests no route took (404s): one series, whatever the path


def multiprocess_dir() -> str | None:
    return os.environ.get("PROMETHEUS_MULTIPROC_DIR") or None


def worker_exited() -> None:
    """A worker's live gauges stop counting when it exits (prometheus-client's multiprocess bookkeeping)."""
    if multiprocess_dir():
        mark_process_dead(os.getpid())


class StoreCollector(Collector):
    """Gauges read from the database at scrape time: the anchoring queue and the index lag."""

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx

    def collect(self) -> Iterator[GaugeMetricFamily]:
        queue = queue_stats(self.ctx.db)
        depth = GaugeMetricFamily("provenance_anchor_queue_depth", "Accepted and not yet anchored", labels=["kind"])
        depth.add_metric(["registration"], queue.registrations)
        depth.add_metric(["retraction"], queue.retractions)
        yield depth
        yield GaugeMetricFamily("provenance_anchor_queue_oldest_seconds", "Age of the oldest item not yet anchored",
                                value=queue.oldest_seconds or 0.0)  # fmt: skip
        fresh = index_freshness(self.ctx)
        blocks = (fresh.head_block - fresh.indexed_block) if fresh.head_block is not None and fresh.indexed_block is not None else 0
        yield GaugeMetricFamily("provenance_index_lag_blocks", "Chain head seen minus block indexed", value=blocks)
        yield GaugeMetricFamily("provenance_index_lag_seconds", "Seconds since the indexer last wrote its checkpoint",
                                value=fresh.seconds_behind or 0.0)  # fmt: skip


def scrape(ctx: Context) -> tuple[bytes, str]:
    """The text exposition: every worker's samples (or this process's) and the database's gauges."""
    store = CollectorRegistry()
    store.register(StoreCollector(ctx))
    if multiprocess_dir():
        merged = CollectorRegistry()
        MultiProcessCollector(merged)
        return generate_latest(merged) + generate_latest(store), CONTENT_TYPE_LATEST
    return generate_latest(REGISTRY) + generate_latest(store), CONTENT_TYPE_LATEST


def route_of(scope: dict[str, Any]) -> str:
    path = getattr(scope.get("route"), "path", None)
    return str(path) if path else UNMATCHED


_CHILDREN: dict[tuple[str, str, str], tuple[Any, Any]] = {}


def record_request(route: str, method: str, status: int, seconds: float) -> None:
    """One answered request in ``provenance_http_requests_total`` and its latency. The children of REQUESTS and
    LATENCY are kept per (route, method, status): ``labels()`` checks its arguments and takes a lock on every call,
    ~6 of the ~70 us that the middleware and the hot answer of a verify by hash cost in process (cProfile,
    2026-12-01). The same children prometheus-client keeps; no series is added."""
    key = (route, method, str(status))
    children = _CHILDREN.get(key)
    if children is None:
        children = _CHILDREN[key] = (REQUESTS.labels(*key), LATENCY.labels(route, method))
    children[0].inc()
    children[1].observe(seconds)


class RequestMetrics:
    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500  # what the server sends if the app raises before answering

        async def observed(message: dict[str, Any]) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, observed)
        finally:
            record_request(route_of(scope), scope["method"], status, time.perf_counter() - started)
