"""What the database sees of blocking's requests: a budget of commands, `_id` lookups only.

The development server (FerretDB) answers only an exact `{_id: x}` filter from an index;
any other filter reads the whole collection, so its cost would grow with history. These
tests record every command a request sends (PyMongo command monitoring) and fail on a
budget overrun or on a filter that is not an `_id` equality.

Budgets (commands per request):
- blocking one client: 5 — the client by id, the pair by id, intent insert, the pair's
  write, intent delete;
- blocking them again: 2 — the two reads, nothing written;
- unblocking: 4 — the pair by id, intent insert, the pair's write, intent delete;
- a bulk block of n new clients: at most 5n (intent inserts and deletes are batched);
- a new client's record (consumer): 1 — the projection's write by id, no block list search.
A change also waits until the provider's list shows it: those reads (the list's heads and
pages, by `_id`, as many as the wait takes) are checked for `_id` filters, not counted.
The consumers' commands (the client projection; the list projection, which reads the
changed pairs as one batch and writes the list's pages) are told apart from a request's
own commands, and checked for `_id` filters too.
"""

from collections.abc import AsyncIterator, Awaitable
from dataclasses import dataclass, field
from typing import Any, TypeVar

import httpx
import pytest
from fastapi import FastAPI
from pymongo import monitoring

from services.blocking.app import create_app
from services.blocking.deps import Deps
from shared.outbox import Outbox
from tests.blocking.conftest import Blocking, add_clients, blocking_settings
from tests.support import StartedCommands, auth, client_record, id_lookup, running, unique

T = TypeVar("T")
READS_AND_WRITES = {"find", "findAndModify", "update", "delete", "insert", "count", "aggregate"}
Commands = list[tuple[str, str, dict[str, Any]]]


# Written by the consumers whenever records arrive, off any request's path.
CONSUMER_WRITES = {("update", "clients"), ("update", "block_lists"), ("update", "block_list_pages")}
# Read by a change's wait for its list, and by the list projection: by `_id`, not counted.
LIST_READS = {("find", "block_lists"), ("find", "block_list_pages")}


@dataclass
class Recorder(StartedCommands):
    """Every read and write command sent to one database while recording."""

    database: str
    recording: bool = False
    commands: Commands = field(default_factory=list)

    def started(self, event: monitoring.CommandStartedEvent) -> None:
        wanted = self.recording and event.database_name == self.database
        if wanted and event.command_name in READS_AND_WRITES:
            command = dict(event.command)
            self.commands.append((event.command_name, str(command[event.command_name]), command))


@dataclass
class Watched:
    """A running blocking service whose database commands are recorded."""

    service: Blocking
    recorder: Recorder

    @property
    def outbox(self) -> Outbox:
        """The outbox the use cases write intents to (its deletes are deferred)."""
        deps: Deps = self.service.deps
        outbox = deps.block_lists.outbox
        assert isinstance(outbox, Outbox)
        return outbox

    async def record(self, request: Awaitable[T]) -> tuple[T, Commands]:
        """Run one request with recording on; its commands, including its deferred deletes."""
        await self.outbox.flush()  # earlier requests' deferred work is not this one's
        self.recorder.commands.clear()
        self.recorder.recording = True
        try:
            result = await request
            await self.outbox.flush()
        finally:
            self.recorder.recording = False
        recorded = self.recorder.commands
        assert all(by_id_only(*c) for c in recorded), recorded
        return result, [
            c
            for c in recorded
            if c[:2] not in CONSUMER_WRITES | LIST_READS and not _projection_batch(*c)
        ]


@pytest.fixture(scope="module")
async def watched() -> AsyncIterator[Watched]:
    settings = blocking_settings()
    recorder = Recorder(settings.blocking_database)
    monitoring.register(recorder)  # applies to clients created from now on
    app: FastAPI = create_app(settings)
    async with running(app) as http:
        yield Watched(Blocking(http, app), recorder)
    recorder.recording = False


def filters(name: str, command: dict[str, Any]) -> list[dict[str, Any]]:
    """The filters a command applies."""
    if name == "find":
        return [command.get("filter", {})]
    if name == "findAndModify":
        return [command.get("query", {})]
    if name == "update":
        return [u["q"] for u in command["updates"]]
    if name == "delete":
        return [d["q"] for d in command["deletes"]]
    if name in {"count", "aggregate"}:
        return [{"not": "an _id lookup"}]
    return []


def _projection_batch(name: str, collection: str, command: dict[str, Any]) -> bool:
    """The list projection's read of the pairs that changed: one batch of ids."""
    return (name, collection) == ("find", "blocks") and "$in" in str(command.get("filter"))


def by_id_only(name: str, collection: str, command: dict[str, Any]) -> bool:
    """Every filter is an `_id` lookup: one id, or a batch of ids."""
    return all(id_lookup(where) for where in filters(name, command))


def shape(commands: Commands) -> list[tuple[str, str]]:
    """(command, collection) in the order sent."""
    return [(name, collection) for name, collection, _ in commands]


async def new_clients(watched: Watched, count: int) -> tuple[list[str], dict[str, str]]:
    """New clients of a new practice, and the headers of a new provider of it."""
    practice = unique("pr-")
    ids = await add_clients(watched.service, *(client_record(practice) for _ in range(count)))
    return ids, auth(unique("p-"), "provider", practice)


def block(watched: Watched, client_id: str, headers: dict[str, str]) -> Awaitable[httpx.Response]:
    return watched.service.http.put(f"/v1/blocks/{client_id}", headers=headers)


async def test_blocking_one_client_is_five_id_lookups_and_writes(watched: Watched) -> None:
    (client_id,), headers = await new_clients(watched, 1)

    response, commands = await watched.record(block(watched, client_id, headers))

    assert response.status_code == 204
    assert sorted(shape(commands)) == sorted(
        [
            ("find", "clients"),
            ("find", "blocks"),
            ("insert", "intents"),
            ("findAndModify", "blocks"),
            ("delete", "intents"),
        ]
    )
    assert all(by_id_only(*c) for c in commands), commands


async def test_blocking_again_only_reads_two_documents_by_id(watched: Watched) -> None:
    (client_id,), headers = await new_clients(watched, 1)
    await block(watched, client_id, headers)

    response, commands = await watched.record(block(watched, client_id, headers))

    assert response.status_code == 204
    assert sorted(shape(commands)) == [("find", "blocks"), ("find", "clients")]
    assert all(by_id_only(*c) for c in commands), commands


async def test_unblocking_is_four_id_lookups_and_writes(watched: Watched) -> None:
    (client_id,), headers = await new_clients(watched, 1)
    await block(watched, client_id, headers)

    response, commands = await watched.record(
        watched.service.http.delete(f"/v1/blocks/{client_id}", headers=headers)
    )

    assert response.status_code == 204
    assert sorted(shape(commands)) == sorted(
        [
            ("find", "blocks"),
            ("insert", "intents"),
            ("findAndModify", "blocks"),
            ("delete", "intents"),
        ]
    )
    assert all(by_id_only(*c) for c in commands), commands


async def test_a_bulk_block_reads_and_writes_each_pair_by_id(watched: Watched) -> None:
    ids, headers = await new_clients(watched, 5)

    response, commands = await watched.record(
        watched.service.http.post("/v1/blocks", json={"client_ids": ids}, headers=headers)
    )

    assert response.status_code == 200, response.text
    assert shape(commands).count(("findAndModify", "blocks")) == 5
    assert len(commands) <= 5 * 5, shape(commands)
    assert all(by_id_only(*c) for c in commands), commands


async def test_a_new_clients_record_is_one_write_by_id(watched: Watched) -> None:
    record = client_record(unique("pr-"))
    watched.recorder.commands.clear()
    watched.recorder.recording = True
    try:
        await add_clients(watched.service, record)
    finally:
        watched.recorder.recording = False

    writes = [c for c in watched.recorder.commands if c[0] != "find"]
    own = [c for c in writes if str(record["client_id"]) in str(c[2])]
    assert shape(own) == [("update", "clients")]
    assert all(by_id_only(*c) for c in own), own


async def test_the_block_list_is_read_by_id_whatever_other_providers_hold(
    watched: Watched,
) -> None:
    ids, headers = await new_clients(watched, 3)
    await watched.service.http.post("/v1/blocks", json={"client_ids": ids}, headers=headers)

    response, commands = await watched.record(
        watched.service.http.get("/v1/blocks", params={"q": "ada"}, headers=headers)
    )

    assert response.status_code == 200, response.text
    assert sorted(i["client_id"] for i in response.json()["items"]) == sorted(ids)
    # Beside the list's own pages (by `_id`, checked in `record`): the names, one batch.
    assert shape(commands) == [("find", "clients")]
