"""Group commit on the real database server: concurrent callers share round trips, each
caller gets its own answer, and a lone caller gets the plain single-document command."""

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from pymongo import monitoring
from pymongo.errors import DuplicateKeyError

from shared.batching import DeleteBatcher, FindBatcher, InsertBatcher, insert_each
from shared.mongo import create_mongo_client
from shared.settings import MongoSettings
from tests.support import StartedCommands, id_lookup, infra_env, unique


@dataclass
class Commands(StartedCommands):
    """The commands sent to one database (name, selector or documents)."""

    database: str
    seen: list[tuple[str, Any]] = field(default_factory=list)

    def started(self, event: monitoring.CommandStartedEvent) -> None:
        if event.database_name != self.database:
            return
        command = event.command
        if event.command_name == "find":
            self.seen.append(("find", command["filter"]))
        elif event.command_name == "delete":
            self.seen.append(("delete", [d["q"] for d in command["deletes"]]))
        elif event.command_name == "insert":
            self.seen.append(("insert", len(command["documents"])))


@pytest.fixture
async def watched() -> AsyncIterator[tuple[Any, Commands]]:
    database = unique("test_batching_")
    commands = Commands(database)
    monitoring.register(commands)  # applies to clients created from now on
    mongo = create_mongo_client(MongoSettings(mongodb_url=infra_env()["mongodb_url"]))
    try:
        yield mongo[database]["docs"], commands
    finally:
        commands.database = ""  # the listener stays registered: let it see nothing more
        await mongo.drop_database(database)
        await mongo.close()


async def test_concurrent_reads_by_id_share_one_query_and_each_gets_its_document(
    watched: tuple[Any, Commands],
) -> None:
    docs, commands = watched
    await docs.insert_many([{"_id": f"d{i}", "n": i} for i in range(10)])
    reads = FindBatcher(docs)
    commands.seen.clear()

    lone = await reads.get("d3")
    assert lone is not None and lone["n"] == 3
    assert commands.seen == [("find", {"_id": "d3"})]

    commands.seen.clear()
    wanted = ["d1", "d7", "missing", "d1", "d9"]
    found = await asyncio.gather(*(reads.get(i) for i in wanted))

    assert [d["n"] if d else None for d in found] == [1, 7, None, 1, 9]
    # The first caller's read goes out alone; all who came while it was out share the next.
    assert len(commands.seen) <= 2
    assert all(name == "find" and id_lookup(where) for name, where in commands.seen)


async def test_concurrent_deletes_by_id_share_one_command(
    watched: tuple[Any, Commands],
) -> None:
    docs, commands = watched
    await docs.insert_many([{"_id": f"d{i}"} for i in range(20)])
    deletes = DeleteBatcher(docs)
    commands.seen.clear()

    await asyncio.gather(*(deletes.delete(f"d{i}") for i in range(12)))
    sent = list(commands.seen)

    assert sorted([d["_id"] async for d in docs.find({})]) == sorted(f"d{i}" for i in range(12, 20))
    assert len(sent) <= 2
    assert all(
        name == "delete" and all(id_lookup(q) for q in selectors) for name, selectors in sent
    )


async def test_concurrent_inserts_share_a_bulk_insert_and_duplicates_are_told_apart(
    watched: tuple[Any, Commands],
) -> None:
    docs, commands = watched
    await docs.insert_one({"_id": "taken"})
    inserts = InsertBatcher(docs)
    commands.seen.clear()

    first, second = await asyncio.gather(
        insert_each(inserts, [{"_id": "a"}, {"_id": "taken"}, {"_id": "b"}]),
        insert_each(inserts, [{"_id": "c"}, {"_id": "a"}]),
    )
    sent = list(commands.seen)

    assert first == {"taken"}
    assert second == {"a"}  # the first caller's "a" went in first
    assert sorted([d["_id"] async for d in docs.find({})]) == ["a", "b", "c", "taken"]
    assert [name for name, _ in sent] == ["insert"] * len(sent)
    assert len(sent) <= 2
    with pytest.raises(DuplicateKeyError):
        await inserts.insert({"_id": "b"})
