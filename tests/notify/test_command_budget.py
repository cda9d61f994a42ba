"""What the database sees of notify's hot paths: a budget of commands, and lookups by `_id` only.

The development server (FerretDB) answers only an exact `{_id: x}` filter from an index;
any other filter, sort or count reads the whole collection, so its cost would grow with
history. These tests record every command the service sends while it fans out an
announcement part, delivers a direct message and stores a live event (PyMongo command
monitoring), and fail on a budget overrun or on any filter that is not an `_id` equality.

Budgets (commands, stated here and asserted below):
- announcement part of N recipients with devices: 2 per recipient (their profile and
  their directory address, each by `_id`) plus at most 10 per part (its queue entry in
  and out, one bulk insert of the records final at once, the group-committed inserts of
  the push outcomes: a few per batch of 50 recipients);
- direct message, push sent: 6 (profile; one bulk insert of queue entries and one of
  records; the read position for the badge; the outcome; the push's entry removed);
- the same message's email when its delay is over: 7 (its parked wait looked up again:
  entry and record; then read position, profile, directory address, outcome, entry
  removed);
- a live event: 1 (its log slot), 2 once per user and process (the stored head read
  first), plus the slot `retention` earlier deleted and every few slots the stored head;
  a replay after a known id: the stored head, one probe past it, and the slots after it.
Only commands that name this test's ids are counted: other services' tests share the
broker, and this notify consumes their events too.
"""

import math
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import pytest
from fastapi import FastAPI
from pymongo import AsyncMongoClient, monitoring

from services.notify.app import Stores, create_app
from services.notify.deps import Deps
from services.notify.domain import Job, Part, delivery_id, part_entry_id
from services.notify.events import message_arrived
from shared import topics
from shared.ids import stable_uuid
from shared.mongo import ID_BATCH
from tests.notify.conftest import notify_settings
from tests.notify.factories import add_devices, message_sent
from tests.receivers import PushGatewayStub, SmtpStub
from tests.support import (
    StartedCommands,
    TopicTail,
    eventually,
    header,
    id_lookup,
    infra_env,
    running,
    unique,
)

READS_AND_WRITES = {
    "find",
    "findAndModify",
    "update",
    "delete",
    "insert",
    "count",
    "aggregate",
    "distinct",
}
RECIPIENTS = 120


@dataclass
class Recorder(StartedCommands):
    """Every read and write sent to one database that names a given token."""

    database: str
    token: str = ""
    commands: list[tuple[str, dict[str, Any]]] = field(default_factory=list)

    def started(self, event: monitoring.CommandStartedEvent) -> None:
        if (
            self.token
            and event.database_name == self.database
            and event.command_name in READS_AND_WRITES
            and _names(event.command, self.token)
        ):
            self.commands.append((event.command_name, dict(event.command)))

    def take(self) -> list[tuple[str, dict[str, Any]]]:
        """The commands recorded so far; recording starts afresh."""
        taken, self.commands = self.commands, []
        return taken


def _names(value: Any, token: str) -> bool:
    if isinstance(value, str):
        return token in value
    if isinstance(value, dict):
        return any(_names(v, token) for v in value.values())
    if isinstance(value, list | tuple):
        return any(_names(v, token) for v in value)
    return False


def filters(name: str, command: dict[str, Any]) -> list[Any]:
    """The filters a command selects documents by (none for an insert)."""
    if name == "find":
        return [command.get("filter", {})]
    if name == "findAndModify":
        return [command.get("query", {})]
    if name == "update":
        return [u["q"] for u in command.get("updates", [])]
    if name == "delete":
        return [d["q"] for d in command.get("deletes", [])]
    if name in ("count", "aggregate", "distinct"):
        return [command]  # never by `_id` alone
    return []


def by_id(selector: Any) -> bool:
    """True for `{_id: <scalar>}` or `{_id: {$in: [scalars]}}` (served from the index)."""
    return id_lookup(selector)


@dataclass
class Watched:
    """A running notify service whose database commands are recorded."""

    deps: Deps
    stores: Stores
    recorder: Recorder
    checker: Any  # a client created before the listener: its reads are not recorded
    gateway: PushGatewayStub

    @property
    def db(self) -> Any:
        return self.checker[self.recorder.database]


@pytest.fixture(scope="module")
def recorder_database() -> str:
    return unique("test_notify_budget_")


@pytest.fixture(scope="module")
def checker() -> Iterator[Any]:
    """Created before the listener is registered, so the test's own reads are not counted."""
    client: Any = AsyncMongoClient(infra_env()["mongodb_url"], tz_aware=True)
    yield client


@pytest.fixture(scope="module")
async def watched(
    gateway: PushGatewayStub, smtp: SmtpStub, recorder_database: str, checker: Any
) -> AsyncIterator[Watched]:
    recorder = Recorder(recorder_database)
    monitoring.register(recorder)  # applies to clients created from now on
    settings = notify_settings(
        gateway.url,
        smtp.port,
        notify_database=recorder_database,
        notify_sweep_interval_seconds=3600,  # the sweep is not on these paths
        # The email's wait (1 s here) is parked and looked up again, as a 15-minute one is.
        notify_timer_horizon_seconds=0.5,
    )
    app: FastAPI = create_app(settings)
    async with running(app):
        yield Watched(app.state.deps, app.state.stores, recorder, checker, gateway)
    await checker.close()


def assert_by_id_only(commands: list[tuple[str, dict[str, Any]]]) -> None:
    """Every selector is an `_id` equality (bulk inserts select nothing)."""
    scans = [(name, f) for name, c in commands for f in filters(name, c) if not by_id(f)]
    assert scans == [], f"queries other than an _id lookup: {scans}"


async def test_an_announcement_part_costs_two_batched_reads_per_hundred_recipients(
    watched: Watched,
) -> None:
    token = uuid.uuid4().hex[:10]
    recipients = [f"c-{token}-{i}" for i in range(RECIPIENTS)]
    tokens = {r: f"tok-{token}-{i}" for i, r in enumerate(recipients)}
    await add_devices(watched.stores.users, tokens)
    part = Part(f"a-{token}", f"pr-{token}", 1, tuple(recipients))
    outcome_ids = {
        str(stable_uuid(delivery_id(part.announcement_id, r, channel), status, "recorded"))
        for r in recipients
        for channel, status in (("inbox", "delivered"), ("push", "sent"), ("email", "skipped"))
    }
    watched.recorder.token = token
    async with TopicTail(topics.MESSAGING_DELIVERIES) as outcomes:
        await watched.deps.parts.accept(part)
        await outcomes.wait_for(lambda r: header(r, "ce_id") in outcome_ids, count=3 * RECIPIENTS)

    async def entry_gone() -> bool:
        return await watched.db["delivery_queue"].find_one({"_id": part_entry_id(part)}) is None

    await eventually(entry_gone)
    commands = watched.recorder.take()

    names = [name for name, _ in commands]
    print(f"\n[notify] part of {RECIPIENTS}: {len(commands)} commands {sorted(set(names))}")
    batches = math.ceil(RECIPIENTS / ID_BATCH)  # profiles, and directory addresses
    assert names.count("find") == 2 * batches
    assert len(commands) <= 2 * batches + 10
    assert_by_id_only(commands)
    assert {k for r in watched.gateway.requests for k in _keys(r)} >= set(tokens.values())


async def test_a_direct_message_costs_a_handful_of_id_operations(watched: Watched) -> None:
    token = uuid.uuid4().hex[:10]
    client = f"c-{token}"
    await add_devices(watched.stores.users, {client: f"tok-{token}"})
    message = message_sent(client, message_id=f"m-{token}", thread_id=f"t-{token}", seq=3)
    job = Job(
        "direct_message",
        message.message_id,
        message.practice_id,
        client,
        "client",
        thread_id=message.thread_id,
        seq=message.seq,
    )
    watched.recorder.token = token
    await watched.deps.jobs.accept(job)
    push_id = delivery_id(message.message_id, client, "push")
    email_id = delivery_id(message.message_id, client, "email")

    async def settled(record_id: str) -> bool:
        doc = await watched.db["deliveries"].find_one({"_id": record_id})
        gone = await watched.db["delivery_queue"].find_one({"_id": record_id}) is None
        return bool(doc and doc["status"] in ("sent", "skipped") and gone)

    await eventually(lambda: settled(push_id))
    push = watched.recorder.take()
    await eventually(lambda: settled(email_id))  # the email's delay is 1 s here
    email = watched.recorder.take()

    print(f"\n[notify] direct message: {len(push)} commands, then {len(email)} for its email")
    assert len(push) <= 6
    assert len(email) <= 7
    assert_by_id_only(push + email)


async def test_a_live_event_costs_one_id_operation(watched: Watched) -> None:
    token = uuid.uuid4().hex[:10]
    provider = f"p-{token}"
    first, second = (
        message_sent(provider, recipient_role="provider", seq=n, occurred_at=datetime.now(UTC))
        for n in (1, 2)
    )
    watched.recorder.token = token
    await watched.deps.feed.keep(message_arrived(first))
    once = watched.recorder.take()
    await watched.deps.feed.keep(message_arrived(second))
    again = watched.recorder.take()
    replay = await watched.deps.feed.events.after(provider, f"{first.event_id}:message")
    replayed = watched.recorder.take()

    print(
        f"\n[notify] live events: {len(once)}, then {len(again)} commands; replay {len(replayed)}"
    )
    assert [e.data["message_id"] for e in replay] == [second.message_id]
    assert len(once) <= 2
    assert len(again) <= 1
    assert len(replayed) <= 4
    assert_by_id_only(once + again + replayed)


def _keys(request: dict[str, Any]) -> list[str]:
    return [d["pushkey"] for d in request["notification"]["devices"]]
