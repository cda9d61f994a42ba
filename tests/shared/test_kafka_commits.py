"""Offsets committed together after their handlers finish, on the real Kafka.

A consumer no longer waits for an OffsetCommit round trip after every record: the offsets
of finished records are noted and committed within `COMMIT_INTERVAL_S`, and at stop. These
tests read the group's committed offset from the broker: it follows the finished records,
never passes a record still being handled, and nothing noted is lost at a clean stop.
"""

import asyncio
from collections.abc import AsyncIterator

import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition
from faststream.kafka import KafkaBroker

from shared.kafka import consumer_options, create_broker, wait_until_assigned
from shared.settings import KafkaSettings
from shared.topics import TopicSpec, ensure_topics
from tests.shared.steps import Step, produce
from tests.support import eventually, infra_env, unique

TOPIC = "test.commits.v1"
PARTITION = TopicPartition(TOPIC, 0)


@pytest.fixture(scope="module", autouse=True)
async def topics() -> None:
    await ensure_topics(infra_env()["kafka_bootstrap_servers"], (TopicSpec(TOPIC, partitions=1),))


async def committed(group: str) -> int | None:
    """The group's committed offset of the partition, as the broker holds it."""
    reader = AIOKafkaConsumer(
        bootstrap_servers=infra_env()["kafka_bootstrap_servers"], group_id=group
    )
    await reader.start()
    try:
        offset: int | None = await reader.committed(PARTITION)
        return offset
    finally:
        await reader.stop()


async def publish(*step_ids: str) -> list[int]:
    """Publish steps to the one partition; their offsets."""
    return await produce(TOPIC, *step_ids)


class Consumer:
    """A broker with one subscriber whose handler waits on a step named `hold-*`."""

    def __init__(self) -> None:
        configured = KafkaSettings(
            kafka_bootstrap_servers=infra_env()["kafka_bootstrap_servers"],
            kafka_group_suffix="." + unique(),
            kafka_auto_offset_reset="latest",
        )
        self.options = consumer_options(configured, "test.commits")
        self.group = self.options["group_id"]
        self.broker: KafkaBroker = create_broker(configured, client_id="commits-test")
        self.handled: list[str] = []
        self.holding = asyncio.Event()
        self.release = asyncio.Event()

        @self.broker.subscriber(TOPIC, **self.options)
        async def consume(step: Step) -> None:
            if step.step_id.startswith("hold"):
                self.holding.set()
                await self.release.wait()
            self.handled.append(step.step_id)


@pytest.fixture
async def consumer() -> AsyncIterator[Consumer]:
    running = Consumer()
    await running.broker.start()
    try:
        await wait_until_assigned(running.broker)
        yield running
    finally:
        running.release.set()
        await running.broker.stop()


async def test_finished_records_are_committed_without_a_round_trip_each(
    consumer: Consumer,
) -> None:
    offsets = await publish(*(f"s{i}" for i in range(20)))

    async def all_handled() -> bool:
        return len(consumer.handled) == 20

    await eventually(all_handled, timeout=30)

    async def caught_up() -> bool:
        return await committed(consumer.group) == offsets[-1] + 1

    await eventually(caught_up, timeout=10)


async def test_a_record_still_being_handled_is_never_committed(consumer: Consumer) -> None:
    first, held = await publish("done", "hold-1")
    await asyncio.wait_for(consumer.holding.wait(), timeout=30)

    async def past_the_finished_one() -> bool:
        return await committed(consumer.group) == first + 1

    await eventually(past_the_finished_one, timeout=10)
    await asyncio.sleep(0.5)  # more than the commit interval: nothing else goes out
    assert await committed(consumer.group) == first + 1 == held

    consumer.release.set()

    async def past_the_held_one() -> bool:
        return await committed(consumer.group) == held + 1

    await eventually(past_the_held_one, timeout=10)


async def test_a_clean_stop_commits_what_was_finished() -> None:
    running = Consumer()
    await running.broker.start()
    await wait_until_assigned(running.broker)
    (offset,) = await publish("last")

    async def handled() -> bool:
        return running.handled == ["last"]

    await eventually(handled, timeout=30)

    await running.broker.stop()  # at once: well inside the commit interval

    assert await committed(running.group) == offset + 1
