"""Broker wiring on the real Kafka: headers, keys, retries, dead letters, redelivery."""

import asyncio
from collections.abc import AsyncIterator
from typing import ClassVar

import pytest
from faststream.kafka import KafkaBroker
from pymongo.errors import AutoReconnect

from shared.events.base import Event
from shared.kafka import EventPublisher, consumer_options, create_broker, wait_until_assigned
from shared.settings import KafkaSettings
from shared.topics import TopicSpec, dlq, ensure_topics
from tests.support import TopicTail, body, header, infra_env, publish_json, unique

TOPIC = "test.wiring.v1"


class Pinged(Event):
    """A test event."""

    TOPIC: ClassVar[str] = TOPIC
    TYPE: ClassVar[str] = "test.pinged"
    KEY_FIELD: ClassVar[str] = "ping_id"

    ping_id: str


@pytest.fixture(scope="module", autouse=True)
async def topics() -> None:
    await ensure_topics(
        infra_env()["kafka_bootstrap_servers"],
        (TopicSpec(TOPIC, partitions=2), TopicSpec(dlq(TOPIC), partitions=1)),
    )


def settings() -> KafkaSettings:
    return KafkaSettings(
        kafka_bootstrap_servers=infra_env()["kafka_bootstrap_servers"],
        kafka_group_suffix="." + unique(),
        kafka_auto_offset_reset="latest",
    )


class Handler:
    """Counts calls per ping; fails as told."""

    def __init__(self) -> None:
        self.calls: dict[str, int] = {}
        self.fail_always: set[str] = set()
        self.fail_transient_once: set[str] = set()
        self.done: dict[str, asyncio.Event] = {}

    def seen(self, ping_id: str) -> asyncio.Event:
        return self.done.setdefault(ping_id, asyncio.Event())

    async def __call__(self, event: Pinged) -> None:
        self.calls[event.ping_id] = self.calls.get(event.ping_id, 0) + 1
        if event.ping_id in self.fail_always:
            raise RuntimeError("handler bug")
        if event.ping_id in self.fail_transient_once and self.calls[event.ping_id] == 1:
            raise AutoReconnect("database went away")
        self.seen(event.ping_id).set()


@pytest.fixture
async def wired() -> AsyncIterator[tuple[KafkaBroker, Handler]]:
    handler = Handler()
    broker = create_broker(settings(), client_id="wiring-test")

    @broker.subscriber(TOPIC, **consumer_options(settings(), "test.wiring"))
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
    assert header(record, "dlq_attempts") == "3"


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
