"""OpenTelemetry tracing on the real broker and database: one trace from a request to a consumer.

A real service (blocking, over httpx's ASGI transport) handles a request that publishes an
event; the Kafka record carries the W3C `traceparent`; a consumer built by
`shared.kafka.create_broker` continues the trace. Spans go to the SDK's in-memory exporter.
With tracing off (the default) nothing changes: no header, the caller's correlation id.
"""

import contextlib
import json
import logging
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from faststream.kafka import KafkaBroker
from opentelemetry import trace
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind

from services.blocking.app import create_app
from services.blocking.settings import BlockingSettings
from shared import topics
from shared.kafka import consumer_options, create_broker, wait_until_assigned
from shared.observability import JsonFormatter, correlation_id
from shared.settings import TracingSettings
from shared.tracing import ServerSpans, is_traced
from tests.blocking.conftest import Blocking, add_clients
from tests.support import (
    TopicTail,
    auth,
    base_settings,
    client_record,
    eventually,
    header,
    running,
    unique,
)

# What a span may carry: routes, topics, statuses and ids of events; never people or text.
ALLOWED_ATTRIBUTES = {
    "http.request.method",
    "http.route",
    "http.response.status_code",
    "messaging.system",
    "messaging.operation.type",
    "messaging.destination.name",
    "messaging.destination.partition.id",
    "messaging.message.id",
}


@pytest.fixture(scope="module")
def spans() -> InMemorySpanExporter:
    """Every span this process ends, kept in memory (installed before any traced broker)."""
    exporter = InMemorySpanExporter()
    provider = trace.get_tracer_provider()
    if not isinstance(provider, TracerProvider):
        provider = TracerProvider()
        trace.set_tracer_provider(provider)
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    return exporter


def traced_settings(**overrides: Any) -> BlockingSettings:
    """Blocking settings with a database of its own and tracing on."""
    return BlockingSettings(
        **base_settings(
            blocking_database=unique("test_blocking_"), otel_traces_enabled=True, **overrides
        )
    )


@dataclass
class Consumer:
    """What the test consumer of the blocks topic saw: correlation ids by event id."""

    seen: dict[str, str | None] = field(default_factory=dict)
    log_lines: list[str] = field(default_factory=list)


@pytest.fixture(scope="module")
async def consumer(spans: InMemorySpanExporter) -> AsyncIterator[Consumer]:
    """A traced consumer of messaging.blocks.v1, in a group of its own."""
    settings = traced_settings()
    broker: KafkaBroker = create_broker(settings, client_id="tracing-test")
    seen = Consumer()
    log = logging.getLogger("tests.tracing.consumer")

    @broker.subscriber(topics.MESSAGING_BLOCKS, **consumer_options(settings, "test.tracing"))
    async def handle(event: dict[str, Any]) -> None:
        seen.seen[str(event["event_id"])] = correlation_id.get()
        seen.log_lines.append(
            JsonFormatter().format(log.makeRecord(log.name, logging.INFO, "", 0, "seen", (), None))
        )

    async with broker:
        await broker.start()
        await wait_until_assigned(broker)
        yield seen


@pytest.fixture(scope="module")
async def traced(spans: InMemorySpanExporter) -> AsyncIterator[Blocking]:
    """A blocking service with tracing on."""
    app = create_app(traced_settings())
    async with running(app) as client:
        yield Blocking(client, app)


@dataclass(frozen=True)
class Blocked:
    """A request that blocked a client, and what came of it."""

    response: httpx.Response
    record: Any
    ids_of_people: tuple[str, ...]
    log_lines: list[str]


@dataclass(frozen=True)
class Flow(Blocked):
    """A traced request, with the trace id its record carries."""

    trace_id: str


class Captured(logging.Handler):
    """Keeps the JSON lines the service logs while the request runs."""

    def __init__(self) -> None:
        super().__init__()
        self.setFormatter(JsonFormatter())
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))


@contextlib.contextmanager
def captured_logs(name: str) -> Iterator[Captured]:
    """Capture one logger's records as JSON lines."""
    handler = Captured()
    logger = logging.getLogger(name)
    logger.addHandler(handler)
    try:
        yield handler
    finally:
        logger.removeHandler(handler)


async def block_one(service: Blocking, **headers: str) -> Blocked:
    """Block a new client of a new practice."""
    practice, provider_id = unique("pr-"), unique("p-")
    (client_id,) = await add_clients(service, client_record(practice))
    async with TopicTail(topics.MESSAGING_BLOCKS) as tail:
        with captured_logs("services.blocking") as logs:
            response = await service.http.put(
                f"/v1/blocks/{client_id}",
                headers={**auth(provider_id, "provider", practice), **headers},
            )
        key = f"{provider_id}:{client_id}".encode()
        (record,) = await tail.wait_for(lambda r: r.key == key)
    assert response.status_code == 204, response.text
    return Blocked(response, record, (practice, provider_id, client_id), logs.lines)


@pytest.fixture(scope="module")
async def flow(traced: Blocking, consumer: Consumer) -> Flow:
    """A traced request that publishes BlockChanged, consumed by the traced consumer."""
    blocked = await block_one(traced)
    traceparent = header(blocked.record, "traceparent")
    assert traceparent is not None, "the record carries no traceparent"
    version, trace_id, _parent, _flags = traceparent.split("-")
    assert version == "00"
    event_id = json.loads(blocked.record.value)["event_id"]

    async def consumed() -> bool:
        return event_id in consumer.seen

    await eventually(consumed)
    return Flow(**blocked.__dict__, trace_id=trace_id)


def in_trace(spans: InMemorySpanExporter, trace_id: str) -> list[ReadableSpan]:
    """The finished spans of one trace."""
    return [
        s
        for s in spans.get_finished_spans()
        if s.context is not None and trace.format_trace_id(s.context.trace_id) == trace_id
    ]


async def wait_for_span(
    spans: InMemorySpanExporter, trace_id: str, kind: SpanKind, name: str
) -> ReadableSpan:
    """A span of the trace, once it has ended."""

    async def found() -> list[ReadableSpan]:
        return [s for s in in_trace(spans, trace_id) if s.kind is kind and s.name == name]

    (span,) = await eventually(found)
    return span


async def test_a_request_gets_a_server_span_whose_trace_the_kafka_record_carries(
    flow: Flow, spans: InMemorySpanExporter
) -> None:
    server = await wait_for_span(
        spans, flow.trace_id, SpanKind.SERVER, "PUT /v1/blocks/{client_id}"
    )

    assert server.attributes is not None
    assert server.attributes["http.route"] == "/v1/blocks/{client_id}"
    assert server.attributes["http.response.status_code"] == 204
    assert header(flow.record, "ce_type") == "messaging.block.changed"


async def test_the_producer_span_is_the_records_parent_and_a_child_of_the_request(
    flow: Flow, spans: InMemorySpanExporter
) -> None:
    server = await wait_for_span(
        spans, flow.trace_id, SpanKind.SERVER, "PUT /v1/blocks/{client_id}"
    )
    producer = await wait_for_span(
        spans, flow.trace_id, SpanKind.PRODUCER, f"send {topics.MESSAGING_BLOCKS}"
    )
    traceparent = header(flow.record, "traceparent")

    assert traceparent is not None and producer.context is not None
    assert traceparent.split("-")[2] == trace.format_span_id(producer.context.span_id)
    assert producer.parent is not None and server.context is not None
    assert producer.parent.span_id == server.context.span_id
    assert producer.attributes is not None
    assert producer.attributes["messaging.message.id"] == header(flow.record, "ce_id")


async def test_the_consumer_continues_the_trace_from_the_record_headers(
    flow: Flow, spans: InMemorySpanExporter, consumer: Consumer
) -> None:
    consumed = await wait_for_span(
        spans, flow.trace_id, SpanKind.CONSUMER, f"process {topics.MESSAGING_BLOCKS}"
    )
    traceparent = header(flow.record, "traceparent")

    assert traceparent is not None and consumed.parent is not None
    assert trace.format_span_id(consumed.parent.span_id) == traceparent.split("-")[2]
    assert consumed.attributes is not None
    assert consumed.attributes["messaging.destination.name"] == topics.MESSAGING_BLOCKS
    assert consumed.attributes["messaging.message.id"] == header(flow.record, "ce_id")


async def test_the_correlation_id_is_the_trace_id_in_logs_headers_and_consumers(
    flow: Flow, consumer: Consumer
) -> None:
    event_id = json.loads(flow.record.value)["event_id"]
    logged = [json.loads(line) for line in flow.log_lines]

    assert flow.response.headers["x-correlation-id"] == flow.trace_id
    assert header(flow.record, "correlation_id") == flow.trace_id
    assert logged and all(line["correlation_id"] == flow.trace_id for line in logged)
    assert consumer.seen[event_id] == flow.trace_id
    assert any(json.loads(line)["correlation_id"] == flow.trace_id for line in consumer.log_lines)


async def test_spans_carry_routes_topics_statuses_and_event_ids_only(
    flow: Flow, spans: InMemorySpanExporter
) -> None:
    await wait_for_span(
        spans, flow.trace_id, SpanKind.CONSUMER, f"process {topics.MESSAGING_BLOCKS}"
    )
    ours = in_trace(spans, flow.trace_id)

    assert {s.kind for s in ours} >= {SpanKind.SERVER, SpanKind.PRODUCER, SpanKind.CONSUMER}
    for span in ours:
        attributes = dict(span.attributes or {})
        assert set(attributes) <= ALLOWED_ATTRIBUTES, span.name
        text = span.name + json.dumps(attributes, default=str)
        text += "".join(str(e.attributes) for e in span.events)
        assert not any(person in text for person in flow.ids_of_people), span.name


async def test_fastapis_own_spans_with_url_paths_and_queries_stay_off(
    flow: Flow, spans: InMemorySpanExporter
) -> None:
    await wait_for_span(spans, flow.trace_id, SpanKind.SERVER, "PUT /v1/blocks/{client_id}")

    scopes = {
        s.instrumentation_scope.name for s in spans.get_finished_spans() if s.instrumentation_scope
    }
    attributes = {k for s in spans.get_finished_spans() for k in (s.attributes or {})}

    assert "fastapi" not in scopes
    assert not attributes & {"url.path", "url.query", "url.full", "client.address"}


async def test_a_caller_traceparent_is_continued(
    traced: Blocking, spans: InMemorySpanExporter
) -> None:
    caller_trace = uuid.uuid4().hex
    incoming = f"00-{caller_trace}-00f067aa0ba902b7-01"

    blocked = await block_one(traced, traceparent=incoming)

    traceparent = header(blocked.record, "traceparent")
    assert traceparent is not None and traceparent.split("-")[1] == caller_trace
    assert blocked.response.headers["x-correlation-id"] == caller_trace
    server = await wait_for_span(spans, caller_trace, SpanKind.SERVER, "PUT /v1/blocks/{client_id}")
    assert server.parent is not None
    assert trace.format_span_id(server.parent.span_id) == "00f067aa0ba902b7"


@pytest.fixture(scope="module")
async def untraced(spans: InMemorySpanExporter) -> AsyncIterator[Blocking]:
    """A blocking service with the default settings: tracing off."""
    app = create_app(BlockingSettings(**base_settings(blocking_database=unique("test_blocking_"))))
    async with running(app) as client:
        yield Blocking(client, app)


async def test_tracing_is_off_by_default_and_adds_nothing(untraced: Blocking) -> None:
    assert TracingSettings.model_fields["otel_traces_enabled"].default is False
    assert not is_traced(untraced.app.state.broker)
    assert all(m.cls is not ServerSpans for m in untraced.app.user_middleware)


async def test_without_tracing_no_traceparent_and_the_callers_correlation_id(
    untraced: Blocking, spans: InMemorySpanExporter
) -> None:
    ended_before = len(spans.get_finished_spans())
    cid = unique("cid-")

    blocked = await block_one(untraced, **{"X-Correlation-ID": cid})

    assert header(blocked.record, "traceparent") is None
    assert header(blocked.record, "tracestate") is None
    assert header(blocked.record, "correlation_id") == cid
    assert blocked.response.headers["x-correlation-id"] == cid
    logged = [json.loads(line) for line in blocked.log_lines]
    assert logged and all(line["correlation_id"] == cid for line in logged)
    new_spans = spans.get_finished_spans()[ended_before:]
    assert not [s for s in new_spans if s.kind is SpanKind.SERVER and "blocks" in s.name]
