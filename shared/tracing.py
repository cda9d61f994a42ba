"""OpenTelemetry tracing, switched on by configuration (`OTEL_TRACES_ENABLED=true`).

When on: a server span per HTTP request (a plain ASGI middleware), a producer span per
Kafka publish whose W3C `traceparent`/`tracestate` ride in the record's headers next to
the CloudEvents ones, and a consumer span continuing the trace from those headers; the
correlation id of the JSON logs is the trace id. Spans go to the OTLP/HTTP exporter
(`OTEL_EXPORTER_OTLP_ENDPOINT`, default http://localhost:4318) under `OTEL_SERVICE_NAME`.

When off nothing is installed: no middleware, no header, not even a check per message.

Span attributes are routes, topics, statuses and event ids only: never keys (which name
people), bodies, texts or exception messages.
"""

import logging
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from faststream import BaseMiddleware
from faststream.kafka import KafkaBroker
from faststream.message import StreamMessage
from opentelemetry import trace
from opentelemetry.trace import Span, SpanKind, Status, StatusCode
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from shared.metrics import UNMATCHED_ROUTE
from shared.observability import correlation_id
from shared.settings import TracingSettings

log = logging.getLogger(__name__)

# W3C TraceContext only: baggage is not propagated (it could carry anything).
PROPAGATOR = TraceContextTextMapPropagator()
_TRACE_HEADERS = frozenset(PROPAGATOR.fields)
_TRACE_HEADERS_BYTES = frozenset(name.encode() for name in _TRACE_HEADERS)
_tracer = trace.get_tracer("secure-messaging")


def configure_tracing(settings: TracingSettings, *, service_name: str) -> None:
    """Install the SDK's tracer provider with the OTLP exporter, once per process.

    A provider installed already (by an earlier service in the process, or by a test with
    an in-memory exporter) is kept.
    """
    from opentelemetry.sdk.resources import SERVICE_NAME, Resource
    from opentelemetry.sdk.trace import TracerProvider

    if isinstance(trace.get_tracer_provider(), TracerProvider):
        return
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    provider = TracerProvider(
        resource=Resource.create({SERVICE_NAME: settings.otel_service_name or service_name})
    )
    # The exporter reads OTEL_EXPORTER_OTLP_(TRACES_)ENDPOINT, headers and timeouts itself.
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    trace.set_tracer_provider(provider)
    log.info("tracing on", extra={"service": settings.otel_service_name or service_name})


def current_trace_id() -> str | None:
    """The active trace's id in hex (as W3C writes it), or None outside a trace."""
    span_context = trace.get_current_span().get_span_context()
    return trace.format_trace_id(span_context.trace_id) if span_context.is_valid else None


def is_traced(broker: KafkaBroker) -> bool:
    """Whether the broker was created with tracing on (its middlewares include ours)."""
    return any(isinstance(m, type) and issubclass(m, KafkaTracing) for m in broker.middlewares)


def _ended_badly(span: Span, error: BaseException) -> None:
    # The type only: an exception's text may quote data.
    span.set_status(Status(StatusCode.ERROR, type(error).__name__))


class KafkaTracing(BaseMiddleware):
    """FastStream middleware: a consumer span per record, a producer span per publish."""

    async def consume_scope(
        self, call_next: Callable[[StreamMessage[Any]], Awaitable[Any]], msg: StreamMessage[Any]
    ) -> Any:
        headers: Mapping[str, Any] = msg.headers or {}
        carrier = {k: v for k, v in headers.items() if k in _TRACE_HEADERS and isinstance(v, str)}
        record = msg.raw_message
        topic = str(getattr(record, "topic", "unknown"))
        attributes: dict[str, Any] = {
            "messaging.system": "kafka",
            "messaging.operation.type": "process",
            "messaging.destination.name": topic,
            "messaging.destination.partition.id": str(getattr(record, "partition", "")),
        }
        if isinstance(event_id := headers.get("ce_id"), str):
            attributes["messaging.message.id"] = event_id
        with _tracer.start_as_current_span(
            f"process {topic}",
            context=PROPAGATOR.extract(carrier),
            kind=SpanKind.CONSUMER,
            attributes=attributes,
            record_exception=False,
            set_status_on_exception=False,
        ) as span:
            token = correlation_id.set(current_trace_id())
            try:
                return await call_next(msg)
            except BaseException as error:
                _ended_badly(span, error)
                raise
            finally:
                correlation_id.reset(token)

    async def publish_scope(self, call_next: Callable[[Any], Awaitable[Any]], cmd: Any) -> Any:
        topic = str(getattr(cmd, "destination", "") or "unknown")
        headers: dict[str, Any] = dict(getattr(cmd, "headers", None) or {})
        attributes: dict[str, Any] = {
            "messaging.system": "kafka",
            "messaging.operation.type": "send",
            "messaging.destination.name": topic,
        }
        if isinstance(event_id := headers.get("ce_id"), str):
            attributes["messaging.message.id"] = event_id
        with _tracer.start_as_current_span(
            f"send {topic}",
            kind=SpanKind.PRODUCER,
            attributes=attributes,
            record_exception=False,
            set_status_on_exception=False,
        ) as span:
            PROPAGATOR.inject(headers)
            cmd.headers = headers
            try:
                return await call_next(cmd)
            except BaseException as error:
                _ended_badly(span, error)
                raise


class ServerSpans:
    """ASGI middleware: one server span per HTTP request, named by its route template.

    Continues a trace the caller started (`traceparent`), else starts one. Plain ASGI, like
    the other middlewares; installed only when tracing is on.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        carrier = {
            k.decode(): v.decode("latin-1")
            for k, v in scope.get("headers", ())
            if k in _TRACE_HEADERS_BYTES
        }
        method = scope["method"]
        status = 500

        async def send_observed(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        with _tracer.start_as_current_span(
            method,
            context=PROPAGATOR.extract(carrier),
            kind=SpanKind.SERVER,
            attributes={"http.request.method": method},
            record_exception=False,
            set_status_on_exception=False,
        ) as span:
            try:
                await self.app(scope, receive, send_observed)
            except BaseException as error:
                _ended_badly(span, error)
                raise
            else:
                if status >= 500:
                    span.set_status(Status(StatusCode.ERROR))
            finally:
                route = getattr(scope.get("route"), "path", None) or UNMATCHED_ROUTE
                span.update_name(f"{method} {route}")
                span.set_attribute("http.route", route)
                span.set_attribute("http.response.status_code", status)


__all__ = [
    "PROPAGATOR",
    "KafkaTracing",
    "ServerSpans",
    "configure_tracing",
    "current_trace_id",
    "is_traced",
]
