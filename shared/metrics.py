"""Prometheus metrics every service serves at `GET /metrics` (no token, text format).

Labels are route templates, topics, partitions, consumer groups, statuses, channels and
fixed reasons only: never message text, ids of people or anything a user typed.
"""

import asyncio
import contextlib
import gc
import logging
import time
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import Response
from faststream.kafka import KafkaBroker
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)
from prometheus_client.core import HistogramMetricFamily
from pymongo import monitoring
from starlette.types import ASGIApp, Message, Receive, Scope, Send

log = logging.getLogger(__name__)

HTTP_REQUEST_DURATION = Histogram(
    "messaging_http_request_duration_seconds",
    "HTTP requests by method, route template and status, with their latency.",
    ["method", "route", "status"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 60.0),
)
CONSUMER_LAG = Gauge(
    "messaging_consumer_lag",
    "Records a consumer group has yet to read (high watermark minus position), per partition.",
    ["group", "topic", "partition"],
)
DEAD_LETTERED = Counter(
    "messaging_dead_lettered_total",
    "Messages parked on a dead-letter topic, by source topic and fixed reason.",
    ["topic", "reason"],
)
OUTBOX_BACKLOG = Gauge(
    "messaging_outbox_backlog",
    "Changes whose events wait for the broker in this process.",
)
DELIVERIES = Counter(
    "messaging_deliveries_total",
    "Settled notification deliveries by channel and outcome.",
    ["channel", "outcome"],
)
DB_COMMANDS = Histogram(
    "messaging_db_command_duration_seconds",
    "Database commands by name and collection, with their round-trip time.",
    ["command", "collection"],
    buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5, 2.5),
)
FANOUT_JOBS = Counter(
    "messaging_fanout_jobs_total",
    "Per-recipient notification jobs published by the fan-out, by source kind.",
    ["source"],
)


class GcPauses:
    """How long the garbage collector stopped this process, per generation (a collector
    read at scrape time).

    The callback runs inside a collection, which may start while any code holds any lock:
    it only adds to plain numbers, never touching prometheus_client's locks.
    """

    BUCKETS = (0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0)

    def __init__(self) -> None:
        self._started = 0.0
        self._counts = [[0] * (len(self.BUCKETS) + 1) for _ in range(3)]
        self._sums = [0.0] * 3

    def on_gc(self, phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            self._started = time.perf_counter()
            return
        took, generation = time.perf_counter() - self._started, info["generation"]
        self._sums[generation] += took
        counts = self._counts[generation]
        for i, bound in enumerate(self.BUCKETS):
            if took <= bound:
                counts[i] += 1
                break
        else:
            counts[-1] += 1

    def collect(self) -> Iterable[HistogramMetricFamily]:
        family = HistogramMetricFamily(
            "messaging_gc_pause_seconds",
            "Garbage collections by generation, with how long each stopped the process.",
            labels=["generation"],
        )
        for generation in range(3):
            counts, cumulative, buckets = self._counts[generation], 0, []
            for bound, count in zip((*self.BUCKETS, float("inf")), counts, strict=True):
                cumulative += count
                buckets.append((str(bound) if bound != float("inf") else "+Inf", cumulative))
            family.add_metric([str(generation)], buckets, self._sums[generation])
        yield family


def time_gc_pauses() -> None:
    """Measure this process's garbage-collection pauses (once per process)."""
    if not any(isinstance(getattr(c, "__self__", None), GcPauses) for c in gc.callbacks):
        pauses = GcPauses()
        gc.callbacks.append(pauses.on_gc)
        REGISTRY.register(pauses)  # type: ignore[arg-type]


# The FastStream Prometheus middleware's families (events handled per topic and status,
# published per topic) carry this prefix.
EVENTS_PREFIX = "messaging_events"

UNMATCHED_ROUTE = "unmatched"
POSITION_TIMEOUT = 1.0


class DbCommandMetrics(monitoring.CommandListener):
    """PyMongo command monitoring into DB_COMMANDS: which collections the load falls on."""

    def __init__(self) -> None:
        self._started: dict[tuple[object, int], tuple[str, str]] = {}
        self._children: dict[tuple[str, str], Any] = {}

    def started(self, event: monitoring.CommandStartedEvent) -> None:
        name = event.command_name
        target = event.command.get(name) if name != "getMore" else event.command.get("collection")
        collection = target if isinstance(target, str) else ""
        self._started[(event.connection_id, event.request_id)] = (name, collection)

    def succeeded(self, event: monitoring.CommandSucceededEvent) -> None:
        self._observe(event)

    def failed(self, event: monitoring.CommandFailedEvent) -> None:
        self._observe(event)

    def _observe(
        self, event: monitoring.CommandSucceededEvent | monitoring.CommandFailedEvent
    ) -> None:
        labels = self._started.pop((event.connection_id, event.request_id), None)
        if labels is None:
            return
        child = self._children.get(labels)
        if child is None:
            child = self._children[labels] = DB_COMMANDS.labels(*labels)
        child.observe(event.duration_micros / 1e6)


class HttpMetrics:
    """ASGI middleware: one histogram observation per request, by route template.

    Plain ASGI (no BaseHTTPMiddleware task per request); the route template comes from the
    scope Starlette's router fills in, so a path's ids never become labels.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self._children: dict[tuple[str, str, str], Any] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = "500"

        async def send_observed(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = str(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, send_observed)
        finally:
            route = getattr(scope.get("route"), "path", None) or UNMATCHED_ROUTE
            self._child(scope["method"], route, status).observe(time.perf_counter() - started)

    def _child(self, method: str, route: str, status: str) -> Any:
        key = (method, route, status)
        child = self._children.get(key)
        if child is None:
            child = self._children[key] = HTTP_REQUEST_DURATION.labels(method, route, status)
        return child


def count_deliveries(settled: Iterable[Any]) -> None:
    """Count settled deliveries (DeliveryRecorded events) by channel and outcome."""
    for event in settled:
        DELIVERIES.labels(event.channel, event.status).inc()


# Label sets each broker set last time, so partitions it no longer owns are dropped.
_lag_labels: dict[int, set[tuple[str, str, str]]] = {}


async def refresh_consumer_lag(broker: KafkaBroker) -> None:
    """Set the lag gauge from each consumer's high watermark and position."""
    current: set[tuple[str, str, str]] = set()
    for subscriber in broker.subscribers:
        consumer = getattr(subscriber, "consumer", None)
        if consumer is None:
            continue
        group = str(getattr(subscriber, "group_id", None) or "")
        for tp in consumer.assignment():
            highwater = consumer.highwater(tp)
            if highwater is None:
                continue  # nothing fetched from this partition yet
            try:
                position = await asyncio.wait_for(consumer.position(tp), POSITION_TIMEOUT)
            except Exception as error:  # a partition being reassigned: skip it this time
                log.debug("no position for lag", extra={"error_type": type(error).__name__})
                continue
            labels = (group, tp.topic, str(tp.partition))
            CONSUMER_LAG.labels(*labels).set(max(highwater - position, 0))
            current.add(labels)
    for gone in _lag_labels.get(id(broker), set()) - current:
        with contextlib.suppress(KeyError):
            CONSUMER_LAG.remove(*gone)
    _lag_labels[id(broker)] = current


async def refresh_outbox_backlog(reports: dict[str, Callable[[], Awaitable[Any]]]) -> None:
    """Set the backlog gauge from the service's readiness report, where it has an outbox."""
    backlog = reports.get("outbox_backlog")
    if backlog is not None:
        OUTBOX_BACKLOG.set(await asyncio.wait_for(backlog(), POSITION_TIMEOUT))


def install_metrics(app: FastAPI, broker: KafkaBroker) -> None:
    """Serve `GET /metrics` (refreshing lag and backlog first) and time every request."""
    app.add_middleware(HttpMetrics)

    @app.get("/metrics", include_in_schema=False)
    async def metrics(request: Request) -> Response:
        try:
            await refresh_consumer_lag(broker)
            await refresh_outbox_backlog(getattr(request.app.state, "reports", {}))
        except Exception as error:  # stale gauges beat a failed scrape
            log.warning("metrics refresh failed", extra={"error_type": type(error).__name__})
        return Response(generate_latest(REGISTRY), media_type=CONTENT_TYPE_LATEST)
