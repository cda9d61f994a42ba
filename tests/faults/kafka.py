"""Reading and writing topics of a given broker (the shared one or a private one)."""

import contextlib
import json
import time
from collections.abc import AsyncIterator, Callable, Iterable
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient


class Tail:
    """Every record of some topics from the offsets they had when the tail was opened (or all)."""

    def __init__(self, bootstrap: str, *topics: str, from_beginning: bool = False) -> None:
        self.topics = topics
        self.from_beginning = from_beginning
        self.records: list[Any] = []
        self._consumer = AIOKafkaConsumer(
            bootstrap_servers=bootstrap, enable_auto_commit=False, max_partition_fetch_bytes=2**21
        )

    async def __aenter__(self) -> "Tail":
        await self._consumer.start()
        tps = []
        for topic in self.topics:
            partitions = self._consumer.partitions_for_topic(topic)
            if not partitions:
                await self._consumer._client.force_metadata_update()
                partitions = self._consumer.partitions_for_topic(topic) or set()
            tps.extend(TopicPartition(topic, p) for p in partitions)
        self._consumer.assign(tps)
        if self.from_beginning:
            await self._consumer.seek_to_beginning(*tps)
        else:
            ends = await self._consumer.end_offsets(tps)
            for tp in tps:
                self._consumer.seek(tp, ends[tp])
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self._consumer.stop()

    async def drain(self) -> list[Any]:
        """Fetch what has arrived; every record so far."""
        while True:
            batch = await self._consumer.getmany(timeout_ms=100, max_records=5000)
            for records in batch.values():
                self.records.extend(records)
            if not batch:
                return self.records

    async def until(
        self, done: Callable[[list[Any]], bool], *, timeout: float, what: str = "records"
    ) -> float:
        """Read until `done(records)`; the seconds it took. Fails after `timeout`."""
        started = time.monotonic()
        while time.monotonic() - started < timeout:
            if done(await self.drain()):
                return time.monotonic() - started
        raise AssertionError(f"{what}: not all arrived within {timeout}s")


def value(record: Any) -> Any:
    """A record's JSON value (None if it is not JSON)."""
    try:
        return json.loads(record.value)
    except (ValueError, TypeError):
        return None


def header(record: Any, name: str) -> str | None:
    """One header of a record, decoded."""
    for key, raw in record.headers or ():
        if key == name:
            return bytes(raw).decode()
    return None


@contextlib.asynccontextmanager
async def producer(bootstrap: str) -> AsyncIterator[AIOKafkaProducer]:
    """A raw producer, as a practice system (or a broken one) would use."""
    p = AIOKafkaProducer(
        bootstrap_servers=bootstrap, acks="all", linger_ms=5, max_request_size=2**21
    )
    await p.start()
    try:
        yield p
    finally:
        await p.stop()


async def publish_many(bootstrap: str, topic: str, items: Iterable[tuple[str, Any]]) -> None:
    """Publish JSON values by key, batched, and wait until all are acknowledged."""
    async with producer(bootstrap) as p:
        futures = [await p.send(topic, json.dumps(v).encode(), key=k.encode()) for k, v in items]
        for future in futures:
            await future


async def committed(bootstrap: str, suffix: str) -> dict[str, dict[TopicPartition, int]]:
    """Committed offsets of every consumer group whose id ends with `suffix` (or contains it)."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        groups = [g[0] for g in await admin.list_consumer_groups() if suffix in g[0]]
        result = {}
        for group in groups:
            offsets = await admin.list_consumer_group_offsets(group)
            result[group] = {tp: meta.offset for tp, meta in offsets.items()}
        return result
    finally:
        await admin.close()
