"""A practice's active clients are kept on roster pages, read and written by `_id` only.

On the real FerretDB. Batches are applied as the partition's consumer applies them; what a
redelivery after a crash sees is reproduced by writing a batch's pages without the rest.
"""

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import pytest

from services.announcements.store import ClientProjection
from services.announcements.store.clients import page_id, roster_id
from shared.events.clients import ClientRecordChanged
from tests.announcements.watched_db import Filters, watched_database
from tests.support import id_lookup, unique

PAGE_SIZE = 3


@dataclass
class Watched:
    clients: ClientProjection
    db: Any
    filters: Filters


@pytest.fixture
async def watched() -> AsyncIterator[Watched]:
    async with watched_database("test_rosters_") as (db, filters):
        yield Watched(ClientProjection(db, partitions=2, page_size=PAGE_SIZE), db, filters)


async def upsert(watched: Watched, record: ClientRecordChanged, partition: int) -> None:
    await watched.clients.apply([(record, partition)])


def record(practice_id: str, client_id: str, status: str = "active") -> ClientRecordChanged:
    return ClientRecordChanged(
        practice_id=practice_id,
        client_id=client_id,
        first_name="Ada",
        last_name="L",
        status=status,  # type: ignore[arg-type]
    )


async def test_active_clients_of_every_partition_are_listed_in_id_order(watched: Watched) -> None:
    practice, other = unique("pr-"), unique("pr-")
    for i, partition in [(4, 0), (1, 1), (3, 0), (2, 1), (0, 0)]:
        await upsert(watched, record(practice, f"c{i}"), partition)
    await upsert(watched, record(other, "x"), 0)
    await upsert(watched, record(practice, "gone", "inactive"), 1)

    assert await watched.clients.active_ids(practice) == ("c0", "c1", "c2", "c3", "c4")
    assert await watched.clients.count_active(practice) == 5
    assert await watched.clients.known(practice, ("c2", "gone", "x", "nobody")) == {"c2", "gone"}


async def test_a_full_page_starts_the_next_one(watched: Watched) -> None:
    practice = unique("pr-")
    for i in range(PAGE_SIZE * 2 + 1):
        await upsert(watched, record(practice, f"c{i}"), 0)

    roster = roster_id(practice, 0)
    pages = [
        await watched.db["client_roster_pages"].find_one({"_id": page_id(roster, n)})
        for n in range(3)
    ]
    assert [len(p["entries"]) for p in pages] == [PAGE_SIZE, PAGE_SIZE, 1]
    assert len(await watched.clients.active_ids(practice)) == PAGE_SIZE * 2 + 1


async def test_a_client_leaves_when_inactive_or_moved_and_returns_once(watched: Watched) -> None:
    practice, other = unique("pr-"), unique("pr-")
    for name in ("a", "b", "c"):
        await upsert(watched, record(practice, name), 1)

    await upsert(watched, record(practice, "b", "inactive"), 1)
    await upsert(watched, record(other, "c"), 1)
    assert await watched.clients.active_ids(practice) == ("a",)
    assert await watched.clients.active_ids(other) == ("c",)

    for _ in range(2):  # active again, and a replay of that record
        await upsert(watched, record(practice, "b"), 1)
    assert await watched.clients.active_ids(practice) == ("a", "b")
    assert await watched.clients.known(practice, ("b", "c")) == {"b"}


async def test_a_batch_keeps_each_clients_latest_record(watched: Watched) -> None:
    practice = unique("pr-")
    await watched.clients.apply(
        [
            (record(practice, "a"), 0),
            (record(practice, "b"), 0),
            (record(practice, "a", "inactive"), 0),
        ]
    )

    assert await watched.clients.active_ids(practice) == ("b",)


class Crash(Exception):
    pass


class CrashingBeforeClients(ClientProjection):
    """Dies after writing a batch's pages and heads, before its client documents."""

    async def _write_clients(self, *args: Any) -> None:
        raise Crash


async def listed(watched: Watched, practice: str, partition: int) -> list[str]:
    """Every id on the practice's roster pages in one partition, repeats included."""
    head = await watched.db["client_rosters"].find_one({"_id": roster_id(practice, partition)})
    ids: list[str] = []
    for n in range(head["pages"] if head else 0):
        page = await watched.db["client_roster_pages"].find_one(
            {"_id": page_id(roster_id(practice, partition), n)}
        )
        ids += [e["id"] for e in page["entries"]]
    return ids


async def test_a_batch_redelivered_after_its_pages_lists_each_client_once(
    watched: Watched,
) -> None:
    practice = unique("pr-")
    await upsert(watched, record(practice, "a"), 0)
    await upsert(watched, record(practice, "b"), 0)
    batch = [(record(practice, f"n{i}"), 0) for i in range(PAGE_SIZE * 2)]
    batch.append((record(practice, "a", "inactive"), 0))
    crashing = CrashingBeforeClients(watched.db, partitions=2, page_size=PAGE_SIZE)
    with pytest.raises(Crash):
        await crashing.apply(batch)

    await watched.clients.apply(batch)

    expected = sorted(["b", *(f"n{i}" for i in range(PAGE_SIZE * 2))])
    assert sorted(await listed(watched, practice, 0)) == expected
    assert list(await watched.clients.active_ids(practice)) == expected
    doc = await watched.db["clients"].find_one({"_id": "a"})
    assert doc["status"] == "inactive" and doc["roster"] is None


async def test_rosters_are_read_and_written_by_id_only(watched: Watched) -> None:
    practice = unique("pr-")
    for i in range(PAGE_SIZE + 1):
        await upsert(watched, record(practice, f"c{i}"), i % 2)
    await upsert(watched, record(practice, "c0", "inactive"), 0)
    await watched.clients.count_active(practice)
    await watched.clients.known(practice, ("c1", "c2"))

    assert watched.filters.seen
    assert all(id_lookup(f) for f in watched.filters.seen)


async def test_rosters_stored_as_bare_ids_are_read_and_changed_alike(watched: Watched) -> None:
    """Earlier versions kept a page's ids bare and a client's page, not its roster."""
    practice = unique("pr-")
    roster = roster_id(practice, 0)
    await watched.db["client_rosters"].insert_one({"_id": roster, "pages": 1})
    await watched.db["client_roster_pages"].insert_one(
        {"_id": page_id(roster, 0), "ids": ["a", "b"]}
    )
    for client in ("a", "b"):
        await watched.db["clients"].insert_one(
            {
                "_id": client,
                "practice_id": practice,
                "status": "active",
                "roster_page": page_id(roster, 0),
            }
        )
    assert await watched.clients.active_ids(practice) == ("a", "b")

    await upsert(watched, record(practice, "a", "inactive"), 0)

    assert await watched.clients.active_ids(practice) == ("b",)
    page = await watched.db["client_roster_pages"].find_one({"_id": page_id(roster, 0)})
    assert page["entries"] == [{"id": "b"}] and "ids" not in page
