"""The event the Kafka consumer tests pass around, and producing it to a partition."""

from typing import ClassVar

from aiokafka import AIOKafkaProducer

from shared.events.base import Event
from tests.support import infra_env


class Step(Event):
    """A test event; each test sends it to a topic of its own."""

    TOPIC: ClassVar[str] = "test.steps.v1"
    TYPE: ClassVar[str] = "test.step"
    KEY_FIELD: ClassVar[str] = "step_id"

    step_id: str


async def produce(topic: str, *step_ids: str, partition: int = 0) -> list[int]:
    """Send steps to one partition of a topic, in order; their offsets."""
    producer = AIOKafkaProducer(bootstrap_servers=infra_env()["kafka_bootstrap_servers"])
    await producer.start()
    try:
        offsets = []
        for step_id in step_ids:
            value = Step(step_id=step_id).model_dump_json().encode()
            sent = await producer.send_and_wait(topic, value, partition=partition)
            offsets.append(sent.offset)
        return offsets
    finally:
        await producer.stop()
