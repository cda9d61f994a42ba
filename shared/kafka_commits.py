"""Consumer offsets committed together, a moment after their handlers finish.

FastStream commits after every handled message (or batch): one OffsetCommit round trip
that the consumer waits for before it takes the next record, and one write to the
broker's `__consumer_offsets`. At a few hundred events a second spread over a dozen
consumers that was most of the broker's CPU and a millisecond or more of every consumer's
latency. Here an acknowledgement only notes the offset past the handled records; one
commit per consumer carries every offset noted in the last `COMMIT_INTERVAL_S`.

What is noted is exactly what FastStream's own commit would have sent at that moment: the
consumed position of every assigned partition, taken when a handler finishes (a consumer
hands its handler one record or batch at a time, so nothing past it is consumed yet).
Partitions with no records are committed at their position too, so a group that starts
at "latest" resumes after a restart instead of skipping what arrived meanwhile.

Delivery stays at least once: only positions noted after a handler finished are ever
committed. A crash, or a partition revoked before its commit went out, replays at most
that interval's records, which every handler already takes idempotently (a kill replays
far more). A consumer commits what is noted before it stops.
"""

import asyncio
import logging
import weakref
from typing import Any

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.errors import KafkaError
from faststream.kafka.message import KafkaAckableMessage

log = logging.getLogger(__name__)

COMMIT_INTERVAL_S = 0.2


class NotedOffsets:
    """One consumer's offsets past the records its handlers finished, not yet committed."""

    def __init__(self, consumer: AIOKafkaConsumer) -> None:
        self._consumer = consumer
        self._offsets: dict[TopicPartition, int] = {}
        self._flushing: asyncio.Task[None] | None = None

    def note(self, records: tuple[Any, ...]) -> None:
        """Remember the positions now (past these records); a commit goes out soon."""
        consumed = {record_partition(r): r.offset + 1 for r in records}
        consumed.update(consumed_positions(self._consumer))
        for tp, offset in consumed.items():
            self._offsets[tp] = max(self._offsets.get(tp, 0), offset)
        if self._flushing is None:
            self._flushing = asyncio.get_running_loop().create_task(self._flush_soon())

    async def _flush_soon(self) -> None:
        await asyncio.sleep(COMMIT_INTERVAL_S)
        self._flushing = None
        await self.flush()

    async def flush(self) -> None:
        """Commit what is noted for partitions the consumer still owns."""
        offsets, self._offsets = self._offsets, {}
        owned = self._consumer.assignment()
        offsets = {tp: offset for tp, offset in offsets.items() if tp in owned}
        if not offsets:
            return
        try:
            await self._consumer.commit(offsets)
        except KafkaError as error:
            # A rebalance took the partitions: their next owner replays from the last
            # commit, and the handlers take a replay idempotently.
            log.info("offset commit skipped", extra={"error_type": type(error).__name__})
        except Exception as error:  # e.g. the consumer stopped meanwhile: the same replay
            log.warning("offset commit failed", extra={"error_type": type(error).__name__})

    async def close(self) -> None:
        """Commit what is noted now (the consumer is stopping)."""
        if self._flushing is not None:
            self._flushing.cancel()
            self._flushing = None
        await self.flush()


def record_partition(record: Any) -> TopicPartition:
    return TopicPartition(record.topic, record.partition)


def consumed_positions(consumer: AIOKafkaConsumer) -> dict[TopicPartition, int]:
    """What `consumer.commit()` would commit now: each assigned partition's position."""
    subscription = consumer._subscription.subscription  # what commit() reads
    assignment = subscription.assignment if subscription is not None else None
    if assignment is None:
        return {}
    return {tp: meta.offset for tp, meta in assignment.all_consumed_offsets().items()}


_NOTED: "weakref.WeakKeyDictionary[AIOKafkaConsumer, NotedOffsets]" = weakref.WeakKeyDictionary()


def noted_offsets(consumer: AIOKafkaConsumer) -> NotedOffsets:
    """The consumer's noted offsets (created with its first acknowledgement)."""
    noted = _NOTED.get(consumer)
    if noted is None:
        noted = _NOTED[consumer] = NotedOffsets(consumer)
    return noted


async def _ack_noted(self: KafkaAckableMessage) -> None:
    """FastStream's ack, with the commit noted instead of awaited."""
    if not self.committed:
        if isinstance(self.consumer, AIOKafkaConsumer):
            raw = self.raw_message
            noted_offsets(self.consumer).note(raw if isinstance(raw, tuple) else (raw,))
        else:  # FastStream's in-memory test broker
            await self.consumer.commit()
    await super(KafkaAckableMessage, self).ack()


_stop_consumer = AIOKafkaConsumer.stop


async def _stop_after_commit(self: AIOKafkaConsumer) -> None:
    noted = _NOTED.pop(self, None)
    if noted is not None:
        await noted.close()
    await _stop_consumer(self)


def install() -> None:
    """Note commits instead of awaiting them, for every Kafka consumer of this process."""
    KafkaAckableMessage.ack = _ack_noted  # type: ignore[method-assign]
    AIOKafkaConsumer.stop = _stop_after_commit  # type: ignore[method-assign]
