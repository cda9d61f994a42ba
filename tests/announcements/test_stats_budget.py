"""What the database sees of a send and a stats read: lookups, each an exact `_id` equality.

The development server (FerretDB) answers only `{_id: x}` from an index; any other filter,
count or distinct reads the whole collection, whose size grows with every outcome ever
recorded. A send reads the idempotency key's announcement, then the recipients: the
practice's roster pages (all clients) or each chosen client. A stats read is the announcement, one counter per partition of
`messaging.deliveries.v1`, and the read count (its top slot and one probe past it).
"""

from collections.abc import AsyncIterator
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

import pytest
from fastapi import FastAPI
from pymongo import monitoring

from services.announcements.app import create_app
from shared import topics
from tests.announcements.conftest import Service, announcements_settings
from tests.announcements.factories import new_practice, publish_many, send
from tests.announcements.test_stats import delivery, stats
from tests.support import eventually, id_lookup, running
from tests.threads.test_command_budget import Recorder, filters

# Set only in the test's own task (and so in the request it awaits): the consumers running
# beside it, fed by other notify processes on the shared broker, are not recorded.
ON_REQUEST: ContextVar[bool] = ContextVar("on_request", default=False)

PARTITIONS = next(s.partitions for s in topics.TOPICS if s.name == topics.MESSAGING_DELIVERIES)
BUDGET = 1 + PARTITIONS + 2


@dataclass
class RequestRecorder(Recorder):
    """A Recorder of the commands sent on behalf of the test's own requests."""

    def started(self, event: monitoring.CommandStartedEvent) -> None:
        if ON_REQUEST.get():
            super().started(event)


@pytest.fixture(scope="module")
async def watched() -> AsyncIterator[tuple[Service, Recorder]]:
    settings = announcements_settings()
    recorder = RequestRecorder(settings.announcements_database)
    monitoring.register(recorder)  # applies to clients created from now on
    app: FastAPI = create_app(settings)
    async with running(app) as http:
        service = Service(http, app.state.deps, settings.announcements_database, app.state.outbox)
        yield service, recorder
    recorder.recording = False


def id_only(name: str, command: dict[str, Any]) -> bool:
    """Every filter of the command is an `_id` lookup: one id, or a batch of ids."""
    return all(id_lookup(where) for where in filters(name, command))


async def test_a_stats_read_is_a_few_id_lookups(watched: tuple[Service, Recorder]) -> None:
    service, recorder = watched
    practice = await new_practice(service, active=3)
    created = await send(service.http, practice, {"all_clients": True})
    a = created["announcement_id"]
    await publish_many(
        topics.MESSAGING_DELIVERIES,
        [delivery(practice, a, c, "inbox", "delivered") for c in practice.clients],
    )
    read = await service.http.post(
        f"/v1/me/announcements/{a}/read", headers=practice.client(practice.clients[0])
    )
    assert read.status_code == 204

    async def counted() -> bool:
        return (await stats(service, practice, a))["delivered"] == 3

    await eventually(counted, timeout=30)

    recorder.commands.clear()
    recorder.recording = True
    token = ON_REQUEST.set(True)
    try:
        found = await stats(service, practice, a)
    finally:
        ON_REQUEST.reset(token)
        recorder.recording = False

    assert found == {"recipients": 3, "delivered": 3, "notified": 0, "failed": 0, "read": 1}
    commands = list(recorder.commands)
    assert commands and len(commands) <= BUDGET, commands
    assert all(id_only(name, c) for name, c in commands), commands


@pytest.mark.parametrize("everyone", [True, False], ids=["all_clients", "chosen"])
async def test_a_send_reads_by_id_only(watched: tuple[Service, Recorder], everyone: bool) -> None:
    service, recorder = watched
    practice = await new_practice(service, active=3, inactive=1)
    recipients: dict[str, Any] = (
        {"all_clients": True} if everyone else {"client_ids": practice.clients[:2]}
    )

    recorder.commands.clear()
    recorder.recording = True
    token = ON_REQUEST.set(True)
    try:
        created = await send(service.http, practice, recipients)
    finally:
        ON_REQUEST.reset(token)
        recorder.recording = False

    assert created["recipient_count"] == (3 if everyone else 2)
    commands = list(recorder.commands)
    assert any(name == "find" for name, _ in commands), commands
    assert all(id_only(name, c) for name, c in commands), commands


async def test_a_clients_read_and_mark_of_one_announcement_read_by_id_only(
    watched: tuple[Service, Recorder],
) -> None:
    service, recorder = watched
    practice = await new_practice(service, active=2)
    a = (await send(service.http, practice, {"all_clients": True}))["announcement_id"]
    client = practice.client(practice.clients[1])

    recorder.commands.clear()
    recorder.recording = True
    token = ON_REQUEST.set(True)
    try:
        got = await service.http.get(f"/v1/me/announcements/{a}", headers=client)
        marked = await service.http.post(f"/v1/me/announcements/{a}/read", headers=client)
    finally:
        ON_REQUEST.reset(token)
        recorder.recording = False

    assert got.status_code == 200 and marked.status_code == 204
    commands = list(recorder.commands)
    assert any(name == "find" for name, _ in commands), commands
    assert all(id_only(name, c) for name, c in commands), commands
