"""What the database sees of the hot paths: a budget of commands, and lookups by `_id` only.

The development server (FerretDB) answers only an exact `{_id: x}` filter from an index;
any other filter, sort or count reads the whole collection, so its cost would grow with
history. These tests record every command a request sends (PyMongo command monitoring)
and fail on a budget overrun or on any filter that is not an `_id` equality.

Budgets (commands per request, warm caches):
- a provider's send: 6 — rate-limit slot insert, intent insert, message insert, both
  views updated, intent delete (intent inserts are group-committed under load; the
  audit record travels with the message's events to the audit topic);
- a client's send: 8 — the same, plus the block check and the client's name;
- a page of 20 messages: 22 — the 20 slots, one probe past the newest, and the caller's
  view the first time this process sees the thread (its audit record is an event);
- the thread list and the red dot: 1 each — the caller's inbox document;
- a retry of an old message: its thread's slots by `_id`, newest first, in probes that
  double (20, 40, 80, ... slots), never a filter on the collection.
The inbox and audit consumers' own commands are counted apart: they follow the request,
off its path, and must be `_id` lookups too.
"""

from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from pymongo import monitoring

from services.threads.app import create_app
from services.threads.deps import Deps
from tests.support import StartedCommands, id_lookup, running, unique
from tests.threads.conftest import threads_settings
from tests.threads.factory import Conversation, box, conversation, red_dot, send

# A retry this many messages after its first attempt (the first probes cover 20 + 40 + 80).
OLDER_THAN_THE_FIRST_PROBES = 230
READS_AND_WRITES = {"find", "findAndModify", "update", "delete", "insert", "count", "aggregate"}
# Deletes of published intents name many ids at once; they run after the request, on a
# collection that holds only work in flight.


@dataclass
class Recorder(StartedCommands):
    """Every read and write command sent to one database while recording."""

    database: str
    recording: bool = False
    commands: list[tuple[str, dict[str, Any]]] = field(default_factory=list)

    def started(self, event: monitoring.CommandStartedEvent) -> None:
        wanted = self.recording and event.database_name == self.database
        if wanted and event.command_name in READS_AND_WRITES:
            self.commands.append((event.command_name, dict(event.command)))


@dataclass
class Watched:
    """A running threads service whose database commands are recorded."""

    http: httpx.AsyncClient
    deps: Deps
    recorder: Recorder

    @property
    def commands(self) -> list[tuple[str, dict[str, Any]]]:
        return self.recorder.commands


@pytest.fixture(scope="module")
async def watched() -> AsyncIterator[Watched]:
    settings = threads_settings()
    recorder = Recorder(settings.threads_database)
    monitoring.register(recorder)  # applies to clients created from now on
    app: FastAPI = create_app(settings)
    async with running(app) as http:
        yield Watched(http, app.state.deps, recorder)
    recorder.recording = False


def collection_of(name: str, command: dict[str, Any]) -> str:
    return str(command[name])


def filters(name: str, command: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """The filters a command applies."""
    if name == "find":
        yield command.get("filter", {})
    elif name == "findAndModify":
        yield command.get("query", {})
    elif name == "update":
        yield from (u["q"] for u in command["updates"])
    elif name == "delete":
        yield from (d["q"] for d in command["deletes"])
    elif name in {"count", "aggregate"}:
        yield {"not": "an _id lookup"}


def by_id_only(name: str, command: dict[str, Any]) -> bool:
    """Every filter of the command is an `_id` lookup: one id, or a batch of ids."""
    return all(id_lookup(where) for where in filters(name, command))


async def record(watched: Watched, request: Any) -> tuple[Any, list[tuple[str, dict[str, Any]]]]:
    """Run one request with recording on; its commands, including its deferred deletes."""
    await watched.deps.outbox.drain()  # earlier requests' deferred work is not this one's
    await watched.deps.outbox.flush()
    watched.commands.clear()
    watched.recorder.recording = True
    try:
        result = await request
        await watched.deps.outbox.drain()
        await watched.deps.outbox.flush()
    finally:
        watched.recorder.recording = False
    return result, list(watched.commands)


def stored_a_message(commands: list[tuple[str, dict[str, Any]]]) -> bool:
    """The recording saw the send's own insert (so an empty recording cannot pass)."""
    return ("insert", "messages") in {(name, collection_of(name, c)) for name, c in commands}


# Written by consumers after the request, off its path (checked for `_id` lookups too).
CONSUMER_COLLECTIONS = {"inboxes", "audit", "audit_heads"}


# Projections other systems feed: their consumers write them whenever records arrive.
PROJECTIONS = {"clients", "providers", "blocks"}


def on_request_path(commands: list[tuple[str, dict[str, Any]]]) -> list[tuple[str, str]]:
    """(command, collection) of what the request itself sent."""
    return [
        (name, collection_of(name, c))
        for name, c in commands
        if collection_of(name, c) not in CONSUMER_COLLECTIONS
        and not (name == "update" and collection_of(name, c) in PROJECTIONS)
    ]


async def warm(watched: Watched) -> Conversation:
    chat = await conversation(watched.http)
    await send(watched.http, chat.thread_id, chat.provider)
    await send(watched.http, chat.thread_id, chat.client)
    await rewarm(watched, chat)
    return chat


async def rewarm(watched: Watched, chat: Conversation) -> None:
    """Refresh the few-seconds caches (toggle, display name) a slow machine may have let lapse."""
    await watched.http.get("/v1/practice/messaging", headers=chat.provider)
    await watched.http.get("/v1/me/messaging-profile", headers=chat.provider)


async def test_a_provider_send_stays_within_its_budget_of_id_lookups(watched: Watched) -> None:
    chat = await warm(watched)

    _, commands = await record(watched, send(watched.http, chat.thread_id, chat.provider))

    assert stored_a_message(commands)
    assert len(on_request_path(commands)) <= 6, on_request_path(commands)
    assert all(by_id_only(name, c) for name, c in commands), commands


async def test_a_client_send_stays_within_its_budget_of_id_lookups(watched: Watched) -> None:
    chat = await warm(watched)

    _, commands = await record(watched, send(watched.http, chat.thread_id, chat.client))

    assert stored_a_message(commands)
    assert len(on_request_path(commands)) <= 8, on_request_path(commands)
    assert all(by_id_only(name, c) for name, c in commands), commands


async def test_a_page_of_messages_reads_its_slots_by_id_in_one_batch(watched: Watched) -> None:
    chat = await warm(watched)
    for _ in range(25):
        await send(watched.http, chat.thread_id, chat.provider)
    await rewarm(watched, chat)

    response, commands = await record(
        watched,
        watched.http.get(
            f"/v1/threads/{chat.thread_id}/messages", params={"limit": 20}, headers=chat.client
        ),
    )

    assert [m["seq"] for m in response.json()["items"]] == list(range(27, 7, -1))
    # The probe past the top slot, then the page's 20 slots in one batched read.
    assert len(on_request_path(commands)) <= 3, on_request_path(commands)
    assert all(by_id_only(name, c) for name, c in commands), commands


async def test_the_thread_list_and_the_red_dot_read_one_inbox_by_id(watched: Watched) -> None:
    chat = await warm(watched)
    await red_dot(watched.http, chat.provider, settle_on=1)
    await box(watched.http, chat.provider, settle_on=[chat.thread_id])

    listed, list_commands = await record(
        watched, watched.http.get("/v1/threads", headers=chat.provider)
    )
    dot, dot_commands = await record(watched, watched.http.get("/v1/unread", headers=chat.provider))

    assert [t["thread_id"] for t in listed.json()["items"]] == [chat.thread_id]
    assert dot.json() == {"unread_threads": 1}
    for commands in (list_commands, dot_commands):
        # One read of the caller's inbox, and nothing else but consumers' own work.
        assert ("find", "inboxes") in [(n, collection_of(n, c)) for n, c in commands]
        assert on_request_path(commands) == [], commands
        assert all(by_id_only(name, c) for name, c in commands), commands


async def test_the_inbox_consumer_writes_by_id(watched: Watched) -> None:
    chat = await warm(watched)
    watched.commands.clear()
    watched.recorder.recording = True
    try:
        await send(watched.http, chat.thread_id, chat.client, unique("hi "))
        await red_dot(watched.http, chat.provider, settle_on=1)
    finally:
        watched.recorder.recording = False

    inbox_commands = [(n, c) for n, c in watched.commands if collection_of(n, c) == "inboxes"]
    assert inbox_commands, "the consumer wrote nothing"
    assert all(by_id_only(name, c) for name, c in inbox_commands), inbox_commands


async def test_a_retry_of_an_old_message_reads_only_its_threads_slots(watched: Watched) -> None:
    chat = await warm(watched)
    first = await send(watched.http, chat.thread_id, chat.provider, cmid=(cmid := unique("m-")))
    for _ in range(OLDER_THAN_THE_FIRST_PROBES):
        await send(watched.http, chat.thread_id, chat.client)

    again, commands = await record(
        watched, send(watched.http, chat.thread_id, chat.provider, cmid=cmid)
    )

    assert (again["message_id"], again["seq"]) == (first["message_id"], first["seq"])
    # Before, past 200 slots back, this was a filter on the whole collection.
    assert all(by_id_only(name, c) for name, c in commands), commands
    print(
        f"\n[threads] a retry {OLDER_THAN_THE_FIRST_PROBES} messages back: {len(commands)} commands"
    )
