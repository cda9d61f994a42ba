"""Kafka wiring: the broker factory, the event publisher, consumer options and the DLQ."""

import asyncio
import copy
import functools
import json
import logging
import random
import ssl
from collections.abc import Awaitable, Callable
from itertools import chain
from typing import Any

from aiokafka.errors import KafkaError
from faststream import AckPolicy, BaseMiddleware
from faststream.kafka import KafkaBroker
from faststream.kafka.prometheus import KafkaPrometheusMiddleware
from faststream.kafka.security import parse_security
from faststream.kafka.subscriber.usecase import BatchSubscriber
from faststream.message import StreamMessage
from faststream.security import (
    BaseSecurity,
    SASLPlaintext,
    SASLScram256,
    SASLScram512,
)
from prometheus_client import REGISTRY
from pydantic import ValidationError
from pymongo.errors import ConnectionFailure

from shared import kafka_commits, kafka_fetch, topics
from shared.events.base import Event
from shared.metrics import DEAD_LETTERED, EVENTS_PREFIX
from shared.observability import correlation_id
from shared.settings import KafkaSettings, TracingSettings
from shared.tracing import KafkaTracing, configure_tracing

log = logging.getLogger(__name__)

# Failures of the infrastructure, not of the message: never dead-letter for these,
# leave the offset uncommitted so the message is processed once things are back.
TRANSIENT_ERRORS: tuple[type[BaseException], ...] = (
    ConnectionFailure,
    ConnectionError,
    TimeoutError,
)


class OversizedRecord(ValueError):
    """A record larger than any event may be (the consumer's `max_record_bytes`)."""


# Failures no retry can fix.
POISON_ERRORS: tuple[type[BaseException], ...] = (
    ValidationError,
    json.JSONDecodeError,
    UnicodeDecodeError,
    OversizedRecord,
)
# Far above the largest event (an announcement part of 1,000 ids of up to 200 characters).
MAX_RECORD_BYTES = 512 * 1024
TRANSIENT_BACKOFF_SECONDS = 0.5
TRANSIENT_MAX_BACKOFF_SECONDS = 5.0


def is_transient(error: BaseException) -> bool:
    """A failure of the infrastructure (worth retrying), not of the message."""
    if isinstance(error, KafkaError):
        return bool(getattr(error, "retriable", False))
    return isinstance(error, TRANSIENT_ERRORS)


def cloudevent_headers(event: Event, source: str) -> dict[str, str]:
    """CloudEvents attributes as Kafka headers, so others route without parsing bodies."""
    return {
        "ce_specversion": "1.0",
        "ce_id": str(event.event_id),
        "ce_type": event.TYPE,
        "ce_source": source,
        "ce_time": event.occurred_at.isoformat(),
        "content-type": "application/json",
    }


class EventPublisher:
    """Publishes events to their topic, keyed, with CloudEvents headers."""

    def __init__(self, broker: KafkaBroker, source: str) -> None:
        self._broker = broker
        self._source = source

    async def publish(self, event: Event) -> None:
        """Send one event and wait for the broker's acknowledgement from all replicas."""
        headers = cloudevent_headers(event, self._source)
        if cid := correlation_id.get():
            headers["correlation_id"] = cid
        await self._broker.publish(
            event.model_dump(mode="json"),
            topic=event.TOPIC,
            key=event.key().encode(),
            headers=headers,
        )

    async def publish_all(self, events: list[Event]) -> None:
        """Send events concurrently; returns once every one is acknowledged."""
        await asyncio.gather(*(self.publish(e) for e in events))


def error_reason(error: BaseException) -> str:
    """A fixed reason for a dead-lettered message: never the error's text, which may quote data."""
    if isinstance(error, ValidationError):
        return "validation_failed"
    if isinstance(error, json.JSONDecodeError | UnicodeDecodeError):
        return "undecodable"
    if isinstance(error, OversizedRecord):
        return "oversized"
    if is_transient(error):
        return "infrastructure_unavailable"
    return "handler_failed"


@functools.cache
def _event_field_names() -> frozenset[str]:
    """Every field name the event contracts declare (nested models included)."""
    names: set[str] = set()
    pending = list(Event.__subclasses__())
    while pending:
        model = pending.pop()
        pending.extend(model.__subclasses__())
        schema = model.model_json_schema()
        for part in [schema, *schema.get("$defs", {}).values()]:
            names.update(part.get("properties", {}))
    return frozenset(names)


def validation_fields(error: ValidationError) -> str:
    """Where validation failed, as JSON: pydantic's error types and locations.

    A location keeps list positions and field names the contracts declare; anything else
    (such as an unexpected key, which is input) shows as "?".
    """
    known = _event_field_names()
    errors = error.errors(include_url=False, include_context=False, include_input=False)
    return json.dumps(
        [
            {
                "loc": [p if isinstance(p, int) or p in known else "?" for p in e["loc"]],
                "type": e["type"],
            }
            for e in errors[:20]
        ]
    )


def _records(msg: StreamMessage[Any]) -> list[Any]:
    """The Kafka records a message carries: one, or a batch subscriber's several."""
    raw = msg.raw_message
    return list(raw) if isinstance(raw, tuple | list) else [raw]


def _record_headers(record: Any) -> dict[str, str]:
    return {
        k: bytes(v).decode(errors="replace")
        for k, v in (getattr(record, "headers", None) or ())
        if isinstance(v, bytes | bytearray)
    }


def _alone(msg: StreamMessage[Any], record: Any) -> StreamMessage[Any]:
    """A batch message reduced to one of its records (decoded anew)."""
    one = copy.copy(msg)
    one.raw_message = (record,)
    one.body = [getattr(record, "value", None) or b""]
    one.batch_headers = [_record_headers(record)]
    one.headers = one.batch_headers[0]
    return one


class DeadLetterMiddleware(BaseMiddleware):
    """Retries a failing handler, then parks its message on `<topic>.dlq` and moves on.

    In a batch, a record that cannot be processed is parked alone: the batch is then
    handled record by record, so the good records around it are still processed.
    """

    attempts: int = 3
    backoff_seconds: float = 0.2
    # How long a message may keep failing on the infrastructure before it is parked.
    transient_window_seconds: float = 120.0
    max_record_bytes: int = MAX_RECORD_BYTES

    async def consume_scope(
        self, call_next: Callable[[StreamMessage[Any]], Awaitable[Any]], msg: StreamMessage[Any]
    ) -> Any:
        records = _records(msg)
        if len(records) == 1:
            return await self._handle(call_next, msg)
        try:
            return await self._handle(call_next, msg, poison_raises=True)
        except POISON_ERRORS:
            for record in records:
                one = _alone(msg, record)
                # A handler reading `message.raw_message` (positions) gets this record's own.
                with self.context.scope("message", one):
                    await self._handle(call_next, one)
            return None

    async def _handle(
        self,
        call_next: Callable[[StreamMessage[Any]], Awaitable[Any]],
        msg: StreamMessage[Any],
        *,
        poison_raises: bool = False,
    ) -> Any:
        attempt, waited, backoff = 0, 0.0, TRANSIENT_BACKOFF_SECONDS
        while True:
            attempt += 1
            try:
                if any(
                    len(getattr(r, "value", None) or b"") > self.max_record_bytes
                    for r in _records(msg)
                ):
                    raise OversizedRecord()
                return await call_next(msg)
            except POISON_ERRORS as error:
                if poison_raises:
                    raise
                await self._dead_letter(msg, error, attempt)
                return None
            except Exception as error:
                if is_transient(error) and waited < self.transient_window_seconds:
                    # The partition waits (order holds) while the infrastructure recovers.
                    log.warning(
                        "transient failure; retrying",
                        extra={"error_type": type(error).__name__, "attempt": attempt},
                    )
                    await asyncio.sleep(backoff)
                    waited += backoff
                    backoff = min(backoff * 2, TRANSIENT_MAX_BACKOFF_SECONDS)
                    continue
                if not is_transient(error) and attempt < self.attempts:
                    delay = self.backoff_seconds * 2 ** (attempt - 1)
                    await asyncio.sleep(delay * (0.5 + random.random()))  # noqa: S311
                    continue
                await self._dead_letter(msg, error, attempt)
                return None

    async def _dead_letter(self, msg: StreamMessage[Any], error: BaseException, tries: int) -> None:
        """Park every record of the message on its topic's DLQ, each with its own headers."""
        for record in _records(msg):
            await self._dead_letter_record(msg, record, error, tries)

    async def _dead_letter_record(
        self, msg: StreamMessage[Any], record: Any, error: BaseException, tries: int
    ) -> None:
        topic = getattr(record, "topic", "unknown")
        broker: KafkaBroker = self.context.get("broker")
        if hasattr(record, "headers"):
            headers = _record_headers(record)
        else:  # a test broker's record: the message's headers are its own
            headers = {k: v for k, v in (msg.headers or {}).items() if isinstance(v, str)}
        if isinstance(error, ValidationError):
            headers["dlq_error_fields"] = validation_fields(error)
        headers.update(
            {
                "dlq_error": error_reason(error),
                "dlq_error_type": type(error).__name__,
                "dlq_topic": topic,
                "dlq_partition": str(getattr(record, "partition", "")),
                "dlq_offset": str(getattr(record, "offset", "")),
                "dlq_attempts": str(tries),
            }
        )
        body = getattr(record, "value", None)
        await broker.publish(
            msg.body if body is None else body,
            topic=topics.dlq(topic),
            key=getattr(record, "key", None),
            headers=headers,
        )
        DEAD_LETTERED.labels(topic, headers["dlq_error"]).inc()
        log.error(
            "message dead-lettered",
            extra={
                "topic": topic,
                "offset": headers["dlq_offset"],
                "error_type": type(error).__name__,
            },
        )


_SASL = {"PLAIN": SASLPlaintext, "SCRAM-SHA-256": SASLScram256, "SCRAM-SHA-512": SASLScram512}


def tls_context(settings: KafkaSettings) -> ssl.SSLContext:
    """Verifies the brokers' certificates and host names; presents a client certificate if set."""
    context = ssl.create_default_context(cafile=settings.kafka_ssl_ca_file)
    if settings.kafka_ssl_cert_file:
        context.load_cert_chain(settings.kafka_ssl_cert_file, settings.kafka_ssl_key_file)
    return context


def broker_security(settings: KafkaSettings) -> BaseSecurity | None:
    """FastStream's security object for the configured protocol (None for PLAINTEXT)."""
    protocol = settings.kafka_security_protocol
    if protocol == "PLAINTEXT":
        return None
    context = tls_context(settings) if protocol.endswith("SSL") else None
    if not protocol.startswith("SASL_"):
        return BaseSecurity(ssl_context=context)
    assert settings.kafka_sasl_username and settings.kafka_sasl_password  # settings check it
    return _SASL[settings.kafka_sasl_mechanism](
        settings.kafka_sasl_username,
        settings.kafka_sasl_password.get_secret_value(),
        ssl_context=context,
        use_ssl=context is not None,
    )


def client_options(settings: KafkaSettings) -> dict[str, Any]:
    """aiokafka keyword arguments for the configured security (for the admin client)."""
    return dict(parse_security(broker_security(settings)))


def create_broker(settings: KafkaSettings, *, client_id: str) -> KafkaBroker:
    """A broker whose producer is idempotent with acks=all and whose consumers dead-letter.

    With tracing on (`TracingSettings`), its consumers and publishes carry spans too.
    """
    middleware = type(
        "ConfiguredDeadLetterMiddleware",
        (DeadLetterMiddleware,),
        {
            "attempts": settings.kafka_handler_attempts,
            "transient_window_seconds": settings.kafka_transient_window_seconds,
            "max_record_bytes": settings.kafka_max_record_bytes,
        },
    )
    middlewares: list[Any] = [
        # Events handled per topic and status, published per topic (prometheus-client).
        KafkaPrometheusMiddleware(
            registry=REGISTRY, app_name=client_id, metrics_prefix=EVENTS_PREFIX
        ),
        middleware,
    ]
    kafka_commits.install()
    kafka_fetch.install()
    if isinstance(settings, TracingSettings) and settings.otel_traces_enabled:
        configure_tracing(settings, service_name=client_id)
        # Outermost: the consumer span covers the retries and the dead-lettering.
        middlewares.insert(0, KafkaTracing)
    return KafkaBroker(
        settings.kafka_bootstrap_servers,
        acks="all",
        enable_idempotence=True,
        client_id=client_id,
        middlewares=middlewares,
        # FastStream's own error logs go through the JSON formatter (type only, never text);
        # its per-message "Received"/"Processed" lines are DEBUG, below the logger's level.
        logger=logging.getLogger("faststream"),
        log_level=logging.DEBUG,
        security=broker_security(settings),
    )


def declare_published(broker: KafkaBroker, *events: type[Event]) -> None:
    """Put the topics a service produces into its AsyncAPI document, one entry per event type.

    Publishing itself goes through EventPublisher (and the outbox); this only documents it.
    """
    for event in events:
        broker.publisher(
            event.TOPIC,
            title=f"{event.TOPIC}:{event.__name__}",
            description=(event.__doc__ or "").strip(),
            schema=event,
        )


# A batch consumer's long poll: it answers as soon as records arrive, so a batch holds what
# is buffered by then; at rest the consumer wakes once per this many milliseconds.
BATCH_POLL_MS = 1000
FETCH_LOOP_TIMEOUT_MS = 1000


# Batch consumers whose records wait a moment for more (by group id): see `batch_options`.
_LINGER_S: dict[str, float] = {}


async def _next_batch(self: BatchSubscriber, consumer: Any) -> tuple[Any, ...]:
    """The records buffered once any arrive, polling again at once after an empty poll.

    FastStream 0.7 sleeps `batch_timeout_ms` after every empty poll: a short timeout then
    spins (2.4 % of a core per idle batch consumer, measured here) and a long one delays
    records that arrive during the sleep. A long poll with no sleep does neither.
    """
    while self.running:
        batches = await consumer.getmany(
            timeout_ms=self.batch_timeout_ms, max_records=self.max_records
        )
        if batches:
            records = list(chain.from_iterable(batches.values()))
            linger = _LINGER_S.get(self.group_id or "", 0.0)
            if linger and len(records) < self.max_records:
                await asyncio.sleep(linger)  # the batch fills meanwhile (fetched already)
                more = await consumer.getmany(
                    timeout_ms=0, max_records=self.max_records - len(records)
                )
                records += chain.from_iterable(more.values())
            return tuple(records)
    return ()


BatchSubscriber.get_msg = _next_batch  # type: ignore[method-assign]


def batch_options(
    settings: KafkaSettings, group: str, max_records: int, *, linger: float = 0.0
) -> dict[str, Any]:
    """`consumer_options` for a consumer handed lists of up to `max_records` records.

    With `linger` (seconds), a batch waits that long for more records once the first
    arrive: for consumers nobody waits on, whose cost is per batch rather than per record.
    """
    options = consumer_options(settings, group)
    _LINGER_S[options["group_id"]] = linger
    return {
        **options,
        "batch": True,
        "max_records": max_records,
        "batch_timeout_ms": BATCH_POLL_MS,
    }


def consumer_options(settings: KafkaSettings, group: str) -> dict[str, Any]:
    """Subscriber options: an explicit group, commit only after the handler finished."""
    return {
        "group_id": group + settings.kafka_group_suffix,
        "auto_offset_reset": settings.kafka_auto_offset_reset,
        "ack_policy": AckPolicy.NACK_ON_ERROR,
        "fetch_max_wait_ms": settings.kafka_fetch_max_wait_ms,
        # How often aiokafka's fetch loop wakes with nothing to do (default 200 ms): a
        # finished fetch, handled records or a rebalance wake it anyway.
        "consumer_timeout_ms": FETCH_LOOP_TIMEOUT_MS,
    }


async def consumers_assigned(broker: KafkaBroker) -> bool:
    """True once every subscriber owns partitions whose start positions are resolved."""
    for subscriber in broker.subscribers:
        consumer = getattr(subscriber, "consumer", None)
        if consumer is None or not consumer.assignment():
            return False
        for tp in consumer.assignment():
            await consumer.position(tp)
    return True


async def wait_until_assigned(broker: KafkaBroker, timeout: float = 30.0) -> None:
    """Wait until `consumers_assigned`: a consumer starting at "latest" then sees what follows."""

    async def _poll() -> None:
        while not await consumers_assigned(broker):
            await asyncio.sleep(0.05)

    await asyncio.wait_for(_poll(), timeout)


__all__ = [
    "POISON_ERRORS",
    "TRANSIENT_ERRORS",
    "DeadLetterMiddleware",
    "EventPublisher",
    "broker_security",
    "client_options",
    "consumer_options",
    "consumers_assigned",
    "create_broker",
    "declare_published",
    "wait_until_assigned",
]
