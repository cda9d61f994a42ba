"""A lingering batch consumer takes what arrives shortly after a batch's first record with
it, on the real Kafka (`batch_options(..., linger=)`)."""

import asyncio
from collections.abc import AsyncIterator

import pytest
from faststream.kafka import KafkaBroker

from shared.kafka import batch_options, create_broker, wait_until_assigned
from shared.settings import KafkaSettings
from shared.topics import TopicSpec, ensure_topics
from tests.shared.steps import Step, produce
from tests.support import eventually, infra_env, unique

TOPIC = "test.linger.v1"
LINGER_S = 0.5


@pytest.fixture(scope="module", autouse=True)
async def topics() -> None:
    await ensure_topics(infra_env()["kafka_bootstrap_servers"], (TopicSpec(TOPIC, partitions=1),))


async def batches_seen(linger: float) -> AsyncIterator[list[list[str]]]:
    configured = KafkaSettings(
        kafka_bootstrap_servers=infra_env()["kafka_bootstrap_servers"],
        kafka_group_suffix="." + unique(),
        kafka_auto_offset_reset="latest",
    )
    broker: KafkaBroker = create_broker(configured, client_id="linger-test")
    batches: list[list[str]] = []

    @broker.subscriber(TOPIC, **batch_options(configured, "test.linger", 10, linger=linger))
    async def consume(steps: list[Step]) -> None:
        batches.append([s.step_id for s in steps])

    await broker.start()
    try:
        await wait_until_assigned(broker)
        yield batches
    finally:
        await broker.stop()


@pytest.fixture(params=[LINGER_S, 0.0], ids=["lingering", "not lingering"])
async def consumer(request: pytest.FixtureRequest) -> AsyncIterator[tuple[float, list[list[str]]]]:
    async for batches in batches_seen(request.param):
        yield request.param, batches


async def test_records_arriving_within_the_linger_come_in_one_batch(
    consumer: tuple[float, list[list[str]]],
) -> None:
    linger, batches = consumer
    await produce(TOPIC, "first")
    await asyncio.sleep(LINGER_S / 5)  # the second record comes well within the linger
    await produce(TOPIC, "second")

    async def both_handled() -> bool:
        return sum(len(b) for b in batches) == 2

    await eventually(both_handled, timeout=30)
    expected = [["first", "second"]] if linger else [["first"], ["second"]]
    assert batches == expected
