"""Helpers for tests that run against the real broker and database."""

import asyncio
import contextlib
import json
import os
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, TypeVar

import httpx
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from fastapi import FastAPI
from pymongo import monitoring

from ops.devtoken import mint
from shared.kafka import wait_until_assigned

T = TypeVar("T")

JWT_SECRET = "test-secret-0123456789-0123456789-abcdef"
ENCRYPTION_KEYS = "k1:dGVzdC1rZXktb25lLXRlc3Qta2V5LW9uZS0zMmJ5dGU=,k2:dGVzdC1rZXktdHdvLXRlc3Qta2V5LXR3by0zMmJ5dGU="


class StartedCommands(monitoring.CommandListener):
    """A PyMongo command listener that looks only at commands as they start."""

    def started(self, event: monitoring.CommandStartedEvent) -> None:
        raise NotImplementedError

    def succeeded(self, event: monitoring.CommandSucceededEvent) -> None:
        pass

    def failed(self, event: monitoring.CommandFailedEvent) -> None:
        pass


def id_lookup(where: Any) -> bool:
    """A filter served from the `_id` index: `{_id: <scalar>}`, or `{_id: {$in: [scalars]}}`
    (MongoDB's, and the development server's with the project's FerretDB patch)."""
    if not isinstance(where, dict) or set(where) != {"_id"}:
        return False
    value = where["_id"]
    if isinstance(value, dict):
        ids = value.get("$in")
        return set(value) == {"$in"} and isinstance(ids, list) and all(_scalar(i) for i in ids)
    return _scalar(value)


def _scalar(value: Any) -> bool:
    return isinstance(value, str | int | float | uuid.UUID)


def unique(prefix: str = "") -> str:
    """An id no other test uses."""
    return f"{prefix}{uuid.uuid4().hex[:12]}"


def infra_env() -> dict[str, str]:
    """Where the real broker and database are (the Makefile exports these)."""
    bootstrap = os.environ.get("KAFKA_BOOTSTRAP_SERVERS")
    mongo = os.environ.get("MONGODB_URL")
    if bootstrap and mongo:
        return {"kafka_bootstrap_servers": bootstrap, "mongodb_url": mongo}
    raise RuntimeError("KAFKA_BOOTSTRAP_SERVERS and MONGODB_URL must be set (run `make test`)")


def base_settings(**overrides: Any) -> dict[str, Any]:
    """Settings that isolate one test's service: own database and consumer groups."""
    values: dict[str, Any] = {
        **infra_env(),
        "kafka_group_suffix": "." + unique(),
        "kafka_auto_offset_reset": "latest",
        "messaging_jwt_secret": JWT_SECRET,
        "messaging_encryption_keys": ENCRYPTION_KEYS,
        "messaging_encryption_active_key": "k1",
    }
    values.update(overrides)
    return values


def client_record(practice_id: str, **fields: object) -> dict[str, object]:
    """A practice system's client record (practice.clients.v1) with a unique id."""
    record: dict[str, object] = {
        "practice_id": practice_id,
        "client_id": unique("c-"),
        "first_name": "Ada",
        "last_name": unique("Lovelace"),
        "status": "active",
    }
    record.update(fields)
    return record


def token(sub: str, role: str, practice_id: str, *, admin: bool = False, ttl: int = 3600) -> str:
    """A signed bearer token for the test secret."""
    return mint(JWT_SECRET, sub=sub, role=role, practice_id=practice_id, admin=admin, ttl=ttl)


def auth(sub: str, role: str, practice_id: str, *, admin: bool = False) -> dict[str, str]:
    """Authorization headers for a test user."""
    return {"Authorization": f"Bearer {token(sub, role, practice_id, admin=admin)}"}


@contextlib.asynccontextmanager
async def running(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    """Run an app's lifespan on the real infrastructure; yield an HTTP client for it."""
    async with app.router.lifespan_context(app):
        await wait_until_assigned(app.state.broker)
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            yield client


async def eventually(check: Callable[[], Awaitable[T]], *, timeout: float = 15.0) -> T:
    """Poll `check` until it returns a truthy value; fail with its last answer."""
    deadline = time.monotonic() + timeout
    last: T | None = None
    while time.monotonic() < deadline:
        last = await check()
        if last:
            return last
        await asyncio.sleep(0.05)
    raise AssertionError(f"condition not met within {timeout}s; last value: {last!r}")


async def clear_of_slot_boundary(interval: float, margin: float = 10.0) -> None:
    """Wait (bounded) until the next multiple of `interval` seconds is `margin` away.

    Rate-limit tests count on no new slot becoming claimable while they run.
    """

    async def clear() -> bool:
        return interval - time.time() % interval >= margin

    await eventually(clear, timeout=margin + 5)


@contextlib.asynccontextmanager
async def producer() -> AsyncIterator[AIOKafkaProducer]:
    """A raw producer, as another practice system would use."""
    p = AIOKafkaProducer(bootstrap_servers=infra_env()["kafka_bootstrap_servers"], acks="all")
    await p.start()
    try:
        yield p
    finally:
        await p.stop()


async def publish_json(topic: str, key: str, value: Any) -> None:
    """Publish one JSON record (or raw bytes) to a topic."""
    body = value if isinstance(value, bytes) else json.dumps(value).encode()
    async with producer() as p:
        await p.send_and_wait(topic, body, key=key.encode())


class TopicTail:
    """Reads a topic from the offsets it had when the tail was opened."""

    def __init__(self, topic: str) -> None:
        self.topic = topic
        self.records: list[Any] = []
        self._consumer = AIOKafkaConsumer(
            bootstrap_servers=infra_env()["kafka_bootstrap_servers"], enable_auto_commit=False
        )

    async def __aenter__(self) -> "TopicTail":
        await self._consumer.start()
        partitions = self._consumer.partitions_for_topic(self.topic)
        if partitions is None:
            await self._consumer._client.force_metadata_update()
            partitions = self._consumer.partitions_for_topic(self.topic) or set()
        tps = [TopicPartition(self.topic, p) for p in partitions]
        self._consumer.assign(tps)
        ends = await self._consumer.end_offsets(tps)
        for tp in tps:
            self._consumer.seek(tp, ends[tp])
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self._consumer.stop()

    async def _drain(self) -> None:
        batch = await self._consumer.getmany(timeout_ms=50)
        for records in batch.values():
            self.records.extend(records)

    async def wait_for(
        self, match: Callable[[Any], bool], *, count: int = 1, timeout: float = 15.0
    ) -> list[Any]:
        """Records that match, once at least `count` of them have arrived."""

        async def found() -> list[Any]:
            await self._drain()
            hits = [r for r in self.records if match(r)]
            return hits if len(hits) >= count else []

        return await eventually(found, timeout=timeout)

    async def wait_for_each(
        self, key: Callable[[Any], Any], wanted: set[Any], *, timeout: float = 15.0
    ) -> list[Any]:
        """The records of the wanted keys, once every key has one (a republish repeats one,
        so counting records could stop before the last key arrived)."""

        async def found() -> list[Any]:
            await self._drain()
            hits = [r for r in self.records if key(r) in wanted]
            return hits if {key(r) for r in hits} >= wanted else []

        return await eventually(found, timeout=timeout)

    async def settle(self, seconds: float = 1.0) -> list[Any]:
        """Everything that arrived within a quiet window (to prove something did NOT happen)."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            await self._drain()
        return self.records


def body(record: Any) -> Any:
    """The JSON value of a Kafka record."""
    return json.loads(record.value)


def header(record: Any, name: str) -> str | None:
    """One header of a Kafka record, decoded."""
    for key, value in record.headers or ():
        if key == name:
            return bytes(value).decode()
    return None
