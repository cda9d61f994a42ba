"""A graceful stop finishes deliveries in flight, or releases them for the next instance.

Before, a stop cancelled attempts in flight and left their queue entries leased: the
next instance delivered them only once the lease (120 s by default) had run out.
"""

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from pymongo import AsyncMongoClient

from services.notify.app import Stores, create_app
from services.notify.domain import delivery_id
from tests.notify.conftest import notify_settings
from tests.notify.factories import add_devices, message_sent, publish
from tests.receivers import SmtpStub, serve
from tests.support import eventually, infra_env, running, unique


@dataclass
class SlowGateway:
    """A push gateway that answers a pushkey only once it is let go (or after a delay)."""

    url: str = ""
    holding: dict[str, float | None] = field(default_factory=dict)  # None: until let go
    arrived: list[str] = field(default_factory=list)
    answered: list[str] = field(default_factory=list)
    let_go: asyncio.Event = field(default_factory=asyncio.Event)

    def app(self) -> FastAPI:
        api = FastAPI()

        @api.post("/_matrix/push/v1/notify")
        async def notify(request: Request) -> JSONResponse:
            keys = [d["pushkey"] for d in (await request.json())["notification"]["devices"]]
            self.arrived.extend(keys)
            for key in keys:
                if key in self.holding:
                    delay = self.holding[key]
                    if delay is None:
                        await self.let_go.wait()
                    else:
                        await asyncio.sleep(delay)
            self.answered.extend(keys)
            return JSONResponse({"rejected": []})

        return api


@contextlib.asynccontextmanager
async def slow_gateway() -> AsyncIterator[SlowGateway]:
    stub = SlowGateway()
    async with serve(stub.app()) as url:
        stub.url = f"{url}/_matrix/push/v1/notify"
        try:
            yield stub
        finally:
            stub.let_go.set()


def settings(gateway: SlowGateway, smtp: SmtpStub, database: str, **overrides: Any) -> Any:
    """One notify instance of a shared database (the default 120 s lease)."""
    return notify_settings(
        gateway.url,
        smtp.port,
        notify_database=database,
        notify_lease_seconds=120,
        notify_email_delay_seconds=3600,  # only the push matters here
        **overrides,
    )


@contextlib.asynccontextmanager
async def database_of(name: str) -> AsyncIterator[Any]:
    """The service's database through a client of the test's own (the service's is closed)."""
    client: Any = AsyncMongoClient(infra_env()["mongodb_url"], tz_aware=True)
    try:
        yield client[name]
    finally:
        await client.close()


async def test_a_stop_mid_push_releases_it_and_the_next_instance_delivers_at_once(
    smtp: SmtpStub,
) -> None:
    database = unique("test_notify_stop_")
    client, token = unique("c-"), unique("tok-")
    message = message_sent(client)
    push_id = delivery_id(message.message_id, client, "push")
    async with slow_gateway() as gateway:
        gateway.holding[token] = None
        first = create_app(settings(gateway, smtp, database, notify_shutdown_grace_seconds=0.5))
        async with running(first):
            await add_devices(first.state.stores.users, {client: token})
            await publish(message)
            await eventually(lambda: _true(token in gateway.arrived))
        # Stopped mid-push: the attempt is cancelled and its entry released.
        async with database_of(database) as db:
            entry = await db["delivery_queue"].find_one({"_id": push_id})
            assert entry is not None and entry["owner"] is None
            assert (await db["deliveries"].find_one({"_id": push_id}))["status"] == "pending"
        gateway.holding.clear()

        second = create_app(settings(gateway, smtp, database))
        async with running(second):
            # Well within the 120 s lease the first instance had taken.
            record = await eventually(lambda: _sent(second.state.stores, push_id), timeout=20)
            await eventually(lambda: _gone(second.state.stores, push_id))
        # The first attempt's request never got its answer; the second one did.
        assert gateway.answered == [token]

    assert record.status == "sent"


async def test_a_stop_waits_for_a_push_in_flight_to_finish(smtp: SmtpStub) -> None:
    database = unique("test_notify_stop_")
    client, token = unique("c-"), unique("tok-")
    message = message_sent(client)
    push_id = delivery_id(message.message_id, client, "push")
    async with slow_gateway() as gateway:
        gateway.holding[token] = 1.0
        app = create_app(settings(gateway, smtp, database, notify_shutdown_grace_seconds=10))
        async with running(app):
            await add_devices(app.state.stores.users, {client: token})
            await publish(message)
            await eventually(lambda: _true(token in gateway.arrived))
        async with database_of(database) as db:
            record = await db["deliveries"].find_one({"_id": push_id})
            entry = await db["delivery_queue"].find_one({"_id": push_id})

        assert record is not None and record["status"] == "sent"
        assert entry is None
        assert gateway.answered == [token]


async def _sent(stores: Stores, record_id: str) -> Any:
    record = await stores.deliveries.get(record_id)
    return record if record is not None and record.status == "sent" else None


async def _gone(stores: Stores, entry_id: str) -> bool:
    return await stores.queue.get(entry_id) is None


async def _true(value: bool) -> bool:
    return value
