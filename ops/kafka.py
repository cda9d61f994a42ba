"""Broker access for the CLI: a consumer without a group, an idempotent producer, ranges."""

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

from shared.kafka import client_options
from shared.settings import KafkaSettings

READ_TIMEOUT_SECONDS = 30.0


@contextlib.asynccontextmanager
async def consumer(settings: KafkaSettings) -> AsyncIterator[AIOKafkaConsumer]:
    """A consumer that joins no group and commits nothing: it only reads."""
    client = AIOKafkaConsumer(
        bootstrap_servers=settings.kafka_bootstrap_servers,
        enable_auto_commit=False,
        **client_options(settings),
    )
    await client.start()
    try:
        yield client
    finally:
        await _stop(client)


async def _stop(client: AIOKafkaConsumer) -> None:
    """Stop a consumer; aiokafka may re-raise the cancellation of its own internal task."""
    try:
        await client.stop()
    except asyncio.CancelledError:
        task = asyncio.current_task()
        if task is not None and task.cancelling():
            raise  # we are being cancelled ourselves


@contextlib.asynccontextmanager
async def producer(settings: KafkaSettings) -> AsyncIterator[AIOKafkaProducer]:
    """A producer with the services' guarantees: acks from all replicas, idempotent."""
    client = AIOKafkaProducer(
        bootstrap_servers=settings.kafka_bootstrap_servers,
        acks="all",
        enable_idempotence=True,
        **client_options(settings),
    )
    await client.start()
    try:
        yield client
    finally:
        await client.stop()


@contextlib.asynccontextmanager
async def admin(settings: KafkaSettings) -> AsyncIterator[AIOKafkaAdminClient]:
    """The broker's admin API."""
    client = AIOKafkaAdminClient(
        bootstrap_servers=settings.kafka_bootstrap_servers, **client_options(settings)
    )
    await client.start()
    try:
        yield client
    finally:
        await client.close()


async def partitions(reader: AIOKafkaConsumer, topic: str) -> list[TopicPartition]:
    """The topic's partitions (empty if the topic does not exist)."""
    found = reader.partitions_for_topic(topic)
    if found is None:
        await reader._client.force_metadata_update()
        found = reader.partitions_for_topic(topic) or set()
    return [TopicPartition(topic, p) for p in sorted(found)]


async def offsets(
    reader: AIOKafkaConsumer, tps: list[TopicPartition]
) -> tuple[dict[TopicPartition, int], dict[TopicPartition, int]]:
    """First and next offsets of each partition."""
    if not tps:
        return {}, {}
    return await reader.beginning_offsets(tps), await reader.end_offsets(tps)


async def read_topic(reader: AIOKafkaConsumer, topic: str) -> list[Any]:
    """Every record the topic holds now (bounded by its end offsets at the start)."""
    tps = await partitions(reader, topic)
    first, end = await offsets(reader, tps)
    wanted = {tp for tp in tps if end[tp] > first[tp]}
    if not wanted:
        return []
    reader.assign(list(wanted))
    for tp in wanted:
        reader.seek(tp, first[tp])
    records: list[Any] = []
    deadline = time.monotonic() + READ_TIMEOUT_SECONDS
    while wanted and time.monotonic() < deadline:
        batch = await reader.getmany(timeout_ms=200)
        for tp, got in batch.items():
            records.extend(r for r in got if r.offset < end[tp])
        for tp in list(wanted):
            if await reader.position(tp) >= end[tp]:
                wanted.discard(tp)
        await asyncio.sleep(0)
    return records
