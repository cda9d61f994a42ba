"""A partition is fetched again as soon as its records are handled, on the real Kafka.

aiokafka alone stops holding a busy partition after 100 ms and long-polls the others
without it; the partition then waits out that poll (`kafka_fetch_max_wait_ms`, 5 s) once
its handler finishes. `shared/kafka_fetch.py` holds it until handled instead.
"""

import asyncio
import time
from collections.abc import AsyncIterator

import pytest
from faststream.kafka import KafkaBroker

from shared.kafka import consumer_options, create_broker, wait_until_assigned
from shared.settings import KafkaSettings
from shared.topics import TopicSpec, ensure_topics
from tests.shared.steps import Step, produce
from tests.support import infra_env, unique

TOPIC = "test.fetch.v1"
FETCH_MAX_WAIT_MS = 5000


@pytest.fixture(scope="module", autouse=True)
async def topics() -> None:
    await ensure_topics(infra_env()["kafka_bootstrap_servers"], (TopicSpec(TOPIC, partitions=2),))


class Consumer:
    """One subscriber of both partitions, which records when each step was handled."""

    def __init__(self) -> None:
        configured = KafkaSettings(
            kafka_bootstrap_servers=infra_env()["kafka_bootstrap_servers"],
            kafka_group_suffix="." + unique(),
            kafka_auto_offset_reset="latest",
            kafka_fetch_max_wait_ms=FETCH_MAX_WAIT_MS,
        )
        self.broker: KafkaBroker = create_broker(configured, client_id="fetch-test")
        self.handled: dict[str, asyncio.Event] = {}
        self.handled_at: dict[str, float] = {}

        @self.broker.subscriber(TOPIC, **consumer_options(configured, "test.fetch"))
        async def consume(step: Step) -> None:
            if step.step_id.startswith("slow"):
                await asyncio.sleep(0.3)  # handling that outlasts aiokafka's 100 ms hold
            self.handled_at[step.step_id] = time.monotonic()
            self.handled.setdefault(step.step_id, asyncio.Event()).set()

    async def wait_handled(self, step_id: str) -> None:
        await asyncio.wait_for(self.handled.setdefault(step_id, asyncio.Event()).wait(), 30)


@pytest.fixture
async def consumer() -> AsyncIterator[Consumer]:
    running = Consumer()
    await running.broker.start()
    try:
        await wait_until_assigned(running.broker)
        yield running
    finally:
        await running.broker.stop()


async def test_a_slowly_handled_partition_is_fetched_again_at_once(consumer: Consumer) -> None:
    await produce(TOPIC, "slow")
    await consumer.wait_handled("slow")

    sent_at = time.monotonic()
    await produce(TOPIC, "next")
    await consumer.wait_handled("next")

    waited = consumer.handled_at["next"] - sent_at
    # Without the hold, "next" waits for the long poll of partition 1 sent during "slow".
    assert waited < FETCH_MAX_WAIT_MS / 1000 / 2, f"handled {waited:.2f} s after it was sent"
