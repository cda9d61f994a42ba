"""Dead letters for batch subscribers and oversized records, on the real Kafka.

A bad record in a batch used to take the whole batch to a dead-letter topic named
`unknown.dlq`, which does not exist, so the batch was retried forever and its partition
stalled (the fault suite's poison test found it on threads' inbox topic). Now the bad
record alone is parked and the good records around it are handled. A record far larger
than any event is parked as `oversized`.
"""

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any, ClassVar

import pytest
from aiokafka import AIOKafkaProducer
from faststream.kafka.annotations import KafkaMessage

from shared.events.base import Event
from shared.kafka import consumer_options, create_broker, wait_until_assigned
from shared.settings import KafkaSettings
from shared.topics import TopicSpec, dlq, ensure_topics
from tests.support import TopicTail, header, infra_env, unique

TOPIC = "test.batches.v1"
# The offset each handled note came with.
OFFSETS: dict[str, int] = {}


class Noted(Event):
    """A test event."""

    TOPIC: ClassVar[str] = TOPIC
    TYPE: ClassVar[str] = "test.noted"
    KEY_FIELD: ClassVar[str] = "note_id"

    note_id: str
    text: str = ""


@pytest.fixture(scope="module", autouse=True)
async def topics() -> None:
    await ensure_topics(
        infra_env()["kafka_bootstrap_servers"],
        (TopicSpec(TOPIC, partitions=1), TopicSpec(dlq(TOPIC), partitions=1)),
    )


def settings() -> KafkaSettings:
    return KafkaSettings(
        kafka_bootstrap_servers=infra_env()["kafka_bootstrap_servers"],
        kafka_group_suffix="." + unique(),
        kafka_auto_offset_reset="latest",
        kafka_max_record_bytes=4096,
    )


@pytest.fixture
async def batches() -> AsyncIterator[list[str]]:
    """A batch subscriber (up to 50 records, waiting up to 1 s); yields the ids it handled.

    Like the services' batch consumers, it reads each record's offset from the message it
    is handed (`message.raw_message`), so a record handled alone must come with its own.
    """
    handled: list[str] = []
    configured = settings()
    broker = create_broker(configured, client_id="batches-test")

    @broker.subscriber(
        TOPIC,
        batch=True,
        max_records=50,
        batch_timeout_ms=1000,
        **consumer_options(configured, "test.batches"),
    )
    async def consume(notes: list[Noted], message: KafkaMessage) -> None:
        records = message.raw_message
        handled.extend(n.note_id for n, _ in zip(notes, records, strict=True))
        OFFSETS.update({n.note_id: r.offset for n, r in zip(notes, records, strict=True)})

    async with broker:
        await broker.start()
        await wait_until_assigned(broker)
        yield handled


async def publish_together(values: list[bytes]) -> list[int]:
    """Publish records to the one partition at once (so they arrive as one batch)."""
    producer = AIOKafkaProducer(
        bootstrap_servers=infra_env()["kafka_bootstrap_servers"], linger_ms=200
    )
    await producer.start()
    try:
        futures = [await producer.send(TOPIC, v, key=b"same") for v in values]
        return [(await f).offset for f in futures]
    finally:
        await producer.stop()


def note(note_id: str, text: str = "") -> bytes:
    return Noted(note_id=note_id, text=text).model_dump_json().encode()


async def test_a_bad_record_in_a_batch_is_parked_alone_and_the_others_are_handled(
    batches: list[str],
) -> None:
    before, after = unique("before-"), unique("after-")
    async with TopicTail(dlq(TOPIC)) as dead:
        offsets = await publish_together(
            [note(before), b'{"note_id": "not json', json.dumps({"x": 1}).encode(), note(after)]
        )

        async def both_handled() -> bool:
            return before in batches and after in batches

        await asyncio.wait_for(_until(both_handled), 30)
        parked = await dead.wait_for(
            lambda r: header(r, "dlq_offset") in {str(offsets[1]), str(offsets[2])}, count=2
        )

    assert [header(r, "dlq_topic") for r in parked] == [TOPIC, TOPIC]
    assert {header(r, "dlq_error") for r in parked} == {"validation_failed"}
    assert batches.count(before) == 1 and batches.count(after) == 1
    assert (OFFSETS[before], OFFSETS[after]) == (offsets[0], offsets[3])


async def test_an_oversized_record_is_parked_as_such(batches: list[str]) -> None:
    big, small = unique("big-"), unique("small-")
    async with TopicTail(dlq(TOPIC)) as dead:
        offsets = await publish_together([note(big, "x" * 10_000), note(small)])

        async def small_handled() -> bool:
            return small in batches

        await asyncio.wait_for(_until(small_handled), 30)
        [record] = await dead.wait_for(lambda r: header(r, "dlq_offset") == str(offsets[0]))

    assert header(record, "dlq_error") == "oversized"
    assert big not in batches


async def _until(check: Any) -> None:
    while not await check():
        await asyncio.sleep(0.05)
