"""Broker wiring on the real Kafka: headers, keys, retries, dead letters, redelivery."""

import asyncio
import json
import logging
from collections.abc import AsyncIterator
from typing import Any, ClassVar

import pytest
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType
from faststream.kafka import KafkaBroker
from pydantic import field_validator
from pymongo.errors import AutoReconnect

from shared.events.base import Event
from shared.kafka import EventPublisher, consumer_options, create_broker, wait_until_assigned
from shared.observability import JsonFormatter
from shared.settings import KafkaSettings
from shared.topics import TopicSpec, dlq, ensure_topics
from tests.support import TopicTail, body, eventually, header, infra_env, publish_json, unique

TOPIC = "test.wiring.v1"
# Stands for data (a name, a message) that an error's text may quote.
SENTINEL = "Sentinel-Ada-Lovelace-7f3a"


class Pinged(Event):
    """A test event."""

    TOPIC: ClassVar[str] = TOPIC
    TYPE: ClassVar[str] = "test.pinged"
    KEY_FIELD: ClassVar[str] = "ping_id"

    ping_id: str

    @field_validator("ping_id")
    @classmethod
    def _not_refused(cls, ping_id: str) -> str:
        if ping_id.startswith("refuse-"):
            raise ValueError(f"refused ping {ping_id}")  # quotes the input, as code may
        return ping_id


@pytest.fixture(scope="module", autouse=True)
async def topics() -> None:
    await ensure_topics(
        infra_env()["kafka_bootstrap_servers"],
        (TopicSpec(TOPIC, partitions=2), TopicSpec(dlq(TOPIC), partitions=1)),
    )


def settings(**overrides: Any) -> KafkaSettings:
    return KafkaSettings(
        kafka_bootstrap_servers=infra_env()["kafka_bootstrap_servers"],
        kafka_group_suffix="." + unique(),
        kafka_auto_offset_reset="latest",
        **overrides,
    )


class Handler:
    """Counts calls per ping; fails as told."""

    def __init__(self) -> None:
        self.calls: dict[str, int] = {}
        self.fail_always: set[str] = set()
        self.fail_transient_once: set[str] = set()
        self.fail_transient_always: set[str] = set()
        self.done: dict[str, asyncio.Event] = {}

    def seen(self, ping_id: str) -> asyncio.Event:
        return self.done.setdefault(ping_id, asyncio.Event())

    async def __call__(self, event: Pinged) -> None:
        self.calls[event.ping_id] = self.calls.get(event.ping_id, 0) + 1
        if event.ping_id in self.fail_always:
            raise RuntimeError(f"handler bug while handling {SENTINEL}")
        if event.ping_id in self.fail_transient_once and self.calls[event.ping_id] == 1:
            raise AutoReconnect("database went away")
        if event.ping_id in self.fail_transient_always:
            raise AutoReconnect("database still away")
        self.seen(event.ping_id).set()


@pytest.fixture
async def wired(request: pytest.FixtureRequest) -> AsyncIterator[tuple[KafkaBroker, Handler]]:
    handler = Handler()
    configured = settings(**getattr(request, "param", {}))
    broker = create_broker(configured, client_id="wiring-test")

    @broker.subscriber(TOPIC, **consumer_options(configured, "test.wiring"))
    async def consume(event: Pinged) -> None:
        await handler(event)

    async with broker:
        await broker.start()
        await wait_until_assigned(broker)
        yield broker, handler


async def test_published_event_carries_its_key_and_cloudevents_headers(
    wired: tuple[KafkaBroker, Handler],
) -> None:
    broker, _ = wired
    event = Pinged(ping_id=unique())
    async with TopicTail(TOPIC) as tail:
        await EventPublisher(broker, "/tests").publish(event)
        [record] = await tail.wait_for(lambda r: r.key == event.ping_id.encode())

    assert header(record, "ce_id") == str(event.event_id)
    assert header(record, "ce_type") == "test.pinged"
    assert header(record, "ce_source") == "/tests"
    assert header(record, "content-type") == "application/json"
    assert body(record)["event_id"] == str(event.event_id)


async def test_failing_handler_is_retried_then_dead_lettered_and_the_partition_moves_on(
    wired: tuple[KafkaBroker, Handler],
) -> None:
    _, handler = wired
    poison, after = Pinged(ping_id=unique("poison-")), Pinged(ping_id=unique("after-"))
    handler.fail_always.add(poison.ping_id)
    async with TopicTail(dlq(TOPIC)) as dead:
        # Same key: same partition, so `after` can only be handled if the partition moved on.
        await publish_json(TOPIC, "same", poison.model_dump(mode="json"))
        await publish_json(TOPIC, "same", after.model_dump(mode="json"))
        await asyncio.wait_for(handler.seen(after.ping_id).wait(), 20)
        [record] = await dead.wait_for(lambda r: body(r)["ping_id"] == poison.ping_id)

    assert handler.calls[poison.ping_id] == 3
    assert header(record, "dlq_error_type") == "RuntimeError"
    assert header(record, "dlq_error") == "handler_failed"
    assert header(record, "dlq_attempts") == "3"


def all_headers(record: Any) -> str:
    return " ".join(f"{k}={bytes(v).decode()}" for k, v in record.headers or ())


def formatted(caplog: pytest.LogCaptureFixture) -> str:
    return "\n".join(JsonFormatter().format(r) for r in caplog.records)


async def test_dead_letter_headers_carry_a_fixed_reason_never_the_errors_text(
    wired: tuple[KafkaBroker, Handler], caplog: pytest.LogCaptureFixture
) -> None:
    _, handler = wired
    poison = Pinged(ping_id=unique("poison-"))
    handler.fail_always.add(poison.ping_id)
    caplog.set_level(logging.INFO)
    async with TopicTail(dlq(TOPIC)) as dead:
        await publish_json(TOPIC, poison.ping_id, poison.model_dump(mode="json"))
        [record] = await dead.wait_for(lambda r: r.key == poison.ping_id.encode())

        # The consumer logs right after the DLQ has the record: wait for the line.
        await eventually(lambda: _contains(formatted(caplog), "RuntimeError"), timeout=10)

    assert header(record, "dlq_error") == "handler_failed"
    assert SENTINEL not in all_headers(record)
    assert SENTINEL not in formatted(caplog)


async def _contains(text: str, part: str) -> bool:
    return part in text


async def test_invalid_event_is_dead_lettered_with_field_locations_but_no_input(
    wired: tuple[KafkaBroker, Handler], caplog: pytest.LogCaptureFixture
) -> None:
    key = unique("invalid-")
    value = {**Pinged(ping_id="x").model_dump(mode="json"), "ping_id": f"refuse-{SENTINEL}"}
    caplog.set_level(logging.INFO)
    async with TopicTail(dlq(TOPIC)) as dead:
        await publish_json(TOPIC, key, value)
        [record] = await dead.wait_for(lambda r: r.key == key.encode())

    assert header(record, "dlq_error") == "validation_failed"
    assert header(record, "dlq_error_type") == "ValidationError"
    fields = json.loads(header(record, "dlq_error_fields") or "[]")
    assert [(f["loc"][-1], f["type"]) for f in fields] == [("ping_id", "value_error")]
    assert SENTINEL not in all_headers(record)
    assert SENTINEL not in formatted(caplog)


async def test_undecodable_event_is_dead_lettered_as_such(
    wired: tuple[KafkaBroker, Handler],
) -> None:
    key = unique("garbage-")
    async with TopicTail(dlq(TOPIC)) as dead:
        await publish_json(TOPIC, key, b"\xff{not json " + SENTINEL.encode())
        [record] = await dead.wait_for(lambda r: r.key == key.encode())

    assert header(record, "dlq_error") in {"undecodable", "validation_failed"}
    assert SENTINEL not in all_headers(record)


async def test_transient_failure_is_redelivered_not_dead_lettered(
    wired: tuple[KafkaBroker, Handler],
) -> None:
    _, handler = wired
    flaky = Pinged(ping_id=unique("flaky-"))
    handler.fail_transient_once.add(flaky.ping_id)
    async with TopicTail(dlq(TOPIC)) as dead:
        await publish_json(TOPIC, flaky.ping_id, flaky.model_dump(mode="json"))
        await asyncio.wait_for(handler.seen(flaky.ping_id).wait(), 20)
        parked = await dead.settle(1.0)

    assert handler.calls[flaky.ping_id] == 2
    assert not [r for r in parked if flaky.ping_id.encode() in r.value]


@pytest.mark.parametrize("wired", [{"kafka_transient_window_seconds": 1.0}], indirect=True)
async def test_a_message_that_keeps_failing_on_the_infrastructure_is_parked_after_a_while(
    wired: tuple[KafkaBroker, Handler],
) -> None:
    _, handler = wired
    stuck, after = Pinged(ping_id=unique("stuck-")), Pinged(ping_id=unique("after-"))
    handler.fail_transient_always.add(stuck.ping_id)
    async with TopicTail(dlq(TOPIC)) as dead:
        # Same key: same partition, so `after` can only be handled if the partition moved on.
        await publish_json(TOPIC, "same", stuck.model_dump(mode="json"))
        await publish_json(TOPIC, "same", after.model_dump(mode="json"))
        await asyncio.wait_for(handler.seen(after.ping_id).wait(), 20)
        [record] = await dead.wait_for(lambda r: body(r)["ping_id"] == stuck.ping_id)

    assert handler.calls[stuck.ping_id] > 1  # retried while the window lasted
    assert header(record, "dlq_error") == "infrastructure_unavailable"
    assert header(record, "dlq_error_type") == "AutoReconnect"


async def test_topics_are_created_with_the_configured_durability() -> None:
    name = unique("test.durability.")
    await ensure_topics(
        infra_env()["kafka_bootstrap_servers"],
        (TopicSpec(name, partitions=1),),
        replication_factor=1,
        # Not a value a single broker can honour, and not the broker's default: it can only
        # be there because ensure_topics set it.
        min_insync_replicas=2,
    )
    admin = AIOKafkaAdminClient(bootstrap_servers=infra_env()["kafka_bootstrap_servers"])
    await admin.start()
    try:
        [described] = await admin.describe_configs([ConfigResource(ConfigResourceType.TOPIC, name)])
    finally:
        await admin.close()

    configs = {c[0]: c[1] for c in described.resources[0][4]}
    assert configs["min.insync.replicas"] == "2"
