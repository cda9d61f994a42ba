"""Send limits per user (contract v1.1), held in the database across instances."""

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from pymongo import monitoring

from services.threads.app import create_app
from services.threads.deps import Deps
from shared.mongo import create_mongo_client
from shared.ratelimit import PREFIX, Rate, RateLimited, RateLimiter
from shared.settings import MongoSettings
from tests.support import StartedCommands, clear_of_slot_boundary, infra_env, running, unique
from tests.threads.conftest import threads_settings
from tests.threads.factory import conversation, send

# One send a minute with a burst of a few: no slot refills while a test runs.
SLOW = {"rate_limit_sends_per_minute": 1}


@contextlib.asynccontextmanager
async def service(**settings: Any) -> AsyncIterator[tuple[httpx.AsyncClient, Deps]]:
    """A threads service with its own settings (and, unless given, its own database)."""
    app: FastAPI = create_app(threads_settings(**settings))
    async with running(app) as http:
        yield http, app.state.deps


async def collections(database: str) -> list[str]:
    """The collection names of a database."""
    mongo = create_mongo_client(MongoSettings(mongodb_url=infra_env()["mongodb_url"]))
    try:
        names: list[str] = await mongo[database].list_collection_names()
        return names
    finally:
        await mongo.close()


async def test_a_send_over_the_burst_answers_429_with_retry_after_and_stores_nothing() -> None:
    async with service(**SLOW, rate_limit_sends_burst=3) as (http, _):
        chat = await conversation(http)
        await clear_of_slot_boundary(60)
        for i in range(3):
            await send(http, chat.thread_id, chat.client, f"allowed {i}")

        refused = await http.post(
            f"/v1/threads/{chat.thread_id}/messages",
            json={"body": "one too many", "client_message_id": unique()},
            headers=chat.client,
        )
        other_user = await send(http, chat.thread_id, chat.provider, "the provider is not limited")
        history = await http.get(f"/v1/threads/{chat.thread_id}/messages", headers=chat.client)

    assert refused.status_code == 429
    assert refused.json()["code"] == "rate_limited"
    assert 1 <= int(refused.headers["Retry-After"]) <= 60
    assert other_user["seq"] == 4
    bodies = [m["body"] for m in history.json()["items"]]
    assert bodies == ["the provider is not limited", "allowed 2", "allowed 1", "allowed 0"]


async def test_two_instances_sharing_the_database_never_exceed_the_limit_together() -> None:
    database = unique("test_threads_")
    async with (
        service(**SLOW, rate_limit_sends_burst=5, threads_database=database) as (one, _),
        service(**SLOW, rate_limit_sends_burst=5, threads_database=database) as (two, _),
    ):
        chat = await conversation(one)
        await clear_of_slot_boundary(60)

        async def attempt(i: int) -> httpx.Response:
            return await (one, two)[i % 2].post(
                f"/v1/threads/{chat.thread_id}/messages",
                json={"body": f"m{i}", "client_message_id": f"m{i}"},
                headers=chat.client,
            )

        answers = await asyncio.gather(*(attempt(i) for i in range(16)))
        history = await two.get(f"/v1/threads/{chat.thread_id}/messages", headers=chat.client)

    statuses = sorted(r.status_code for r in answers)
    assert statuses == [201] * 5 + [429] * 11
    assert {r.json()["code"] for r in answers if r.status_code == 429} == {"rate_limited"}
    assert len(history.json()["items"]) == 5


async def test_a_limit_of_zero_turns_the_send_limit_off() -> None:
    database = unique("test_threads_")
    async with service(
        rate_limit_sends_per_minute=0, rate_limit_sends_burst=2, threads_database=database
    ) as (http, _):
        chat = await conversation(http)
        sent = [await send(http, chat.thread_id, chat.client, f"m{i}") for i in range(5)]

    assert [m["seq"] for m in sent] == [1, 2, 3, 4, 5]
    assert not [name for name in await collections(database) if name.startswith(PREFIX)]


class Inserts(StartedCommands):
    """Counts the insert commands sent to one database."""

    def __init__(self, database: str) -> None:
        self.database = database
        self.count = 0

    def started(self, event: monitoring.CommandStartedEvent) -> None:
        if event.database_name == self.database and event.command_name == "insert":
            self.count += 1


@pytest.fixture
async def inserts() -> Inserts:
    """Insert commands to a database of the test's own (listening from before its client)."""
    listener = Inserts(unique("test_ratelimit_"))
    monitoring.register(listener)
    return listener


@pytest.fixture
async def database(inserts: Inserts) -> AsyncIterator[Any]:
    """A database of its own on the real server."""
    mongo = create_mongo_client(MongoSettings(mongodb_url=infra_env()["mongodb_url"]))
    try:
        yield mongo[inserts.database]
    finally:
        await mongo.drop_database(inserts.database)
        await mongo.close()


class Clock:
    """A clock the test moves."""

    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


async def test_a_full_bucket_refills_one_slot_per_interval(database: Any, inserts: Inserts) -> None:
    clock = Clock(1_000_010.0)  # 20 s into a 30 s slot
    limiter = RateLimiter(database, "t", Rate(2, 60.0, 2), clock=clock)

    await limiter.acquire("u")
    await limiter.acquire("u")
    with pytest.raises(RateLimited) as refused:
        await limiter.acquire("u")
    clock.now += 10  # the next slot
    await limiter.acquire("u")
    with pytest.raises(RateLimited):
        await limiter.acquire("u")
    await limiter.acquire("someone else")

    assert refused.value.retry_after == 10
    assert inserts.count == 4  # one per allowed request, none for a refusal


async def test_a_second_process_skips_the_slots_the_first_one_claimed(database: Any) -> None:
    clock = Clock(2_000_000.0)
    first = RateLimiter(database, "t", Rate(1, 60.0, 3), clock=clock)
    second = RateLimiter(database, "t", Rate(1, 60.0, 3), clock=clock)

    await first.acquire("u")
    await first.acquire("u")
    await second.acquire("u")  # two failed inserts, then the third slot
    with pytest.raises(RateLimited):
        await first.acquire("u")
    with pytest.raises(RateLimited):
        await second.acquire("u")

    stored = await database[first.collection_name(33_333)].count_documents({})
    assert stored == 3


async def test_collections_of_past_hours_are_dropped(database: Any) -> None:
    clock = Clock(3600.0 * 500_000 + 10)
    limiter = RateLimiter(database, "t", Rate(60, 60.0, 5), clock=clock)
    await limiter.acquire("u")
    old = limiter.collection_name(int(clock.now))
    clock.now += 3600
    await limiter.acquire("u")
    recent = limiter.collection_name(int(clock.now))

    assert await limiter.drop_expired() == []
    clock.now += 3600
    dropped = await limiter.drop_expired()

    assert dropped == [old]
    assert recent in await database.list_collection_names()
