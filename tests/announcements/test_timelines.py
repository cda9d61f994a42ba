"""The timelines the lists read, on the real FerretDB, with pages of a few entries.

Appending is idempotent (a redelivered batch, or one replayed after a crash between the
pages and the head, adds nothing) and rolls over to a new page at the page size; a list
walked page by page by its cursor returns every announcement once, newest first, across
partitions and pages, and an inbox holds only what addresses its client in its practice.
"""

import os
import random
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import pytest

from services.announcements.domain import Draft
from services.announcements.store import AnnouncementStore, Timelines
from services.announcements.store.timelines import Entry, Posting, head_id, page_id
from shared.crypto import EnvelopeCipher
from tests.announcements.watched_db import Filters, watched_database
from tests.support import unique

PAGE = 3
PARTITIONS = 3


@dataclass
class Stores:
    timelines: Timelines
    announcements: AnnouncementStore
    db: Any
    filters: Filters


@pytest.fixture
async def stores() -> AsyncIterator[Stores]:
    cipher = EnvelopeCipher({"k1": os.urandom(32)}, "k1")
    async with watched_database("test_timelines_") as (db, filters):
        timelines = Timelines(db, partitions=PARTITIONS, page_size=PAGE)
        yield Stores(timelines, AnnouncementStore(db, cipher, timelines), db, filters)


def postings(owner: str, count: int, start: int = 0) -> list[Posting]:
    return [Posting(owner, 0, Entry(f"a-{i:03}", f"k-{i:03}")) for i in range(start, count)]


async def listed(timelines: Timelines, owner: str) -> list[str]:
    return [e.id async for e in timelines.newest(owner, before=None)]


async def test_a_replayed_batch_adds_nothing_and_pages_roll_over(stores: Stores) -> None:
    owner = "practice:" + unique()
    batch = postings(owner, 7)

    await stores.timelines.append(batch)
    await stores.timelines.append(batch)
    await stores.timelines.append(postings(owner, 8, start=5))  # overlaps the last batch

    expected = [f"a-{i:03}" for i in reversed(range(8))]
    assert await listed(stores.timelines, owner) == expected
    pages = stores.db["timeline_pages"]
    sizes = [
        len((await pages.find_one({"_id": page_id(head_id(owner, 0), n)}))["entries"])
        for n in range(3)
    ]
    assert sizes == [PAGE, PAGE, 2]
    head = await stores.db["timeline_heads"].find_one({"_id": head_id(owner, 0)})
    assert head["bounds"] == [
        {"lo": "k-000", "hi": "k-002"},
        {"lo": "k-003", "hi": "k-005"},
        {"lo": "k-006", "hi": "k-007"},
    ]


async def test_a_batch_replayed_after_a_crash_before_the_head_adds_nothing(
    stores: Stores,
) -> None:
    owner = "practice:" + unique()
    await stores.timelines.append(postings(owner, 2))
    heads = stores.db["timeline_heads"]
    before = await heads.find_one({"_id": head_id(owner, 0)})

    batch = postings(owner, 6, start=2)
    await stores.timelines.append(batch)
    await heads.replace_one({"_id": head_id(owner, 0)}, before)  # pages written, head not
    await stores.timelines.append(batch)

    assert await listed(stores.timelines, owner) == [f"a-{i:03}" for i in reversed(range(6))]


async def test_an_entry_arriving_late_is_listed_in_its_place(stores: Stores) -> None:
    owner = "practice:" + unique()
    late = Posting(owner, 0, Entry("a-late", "k-001.5"))
    await stores.timelines.append(postings(owner, 7))
    await stores.timelines.append([late])
    await stores.timelines.append([late])

    found = await listed(stores.timelines, owner)

    assert found == ["a-006", "a-005", "a-004", "a-003", "a-002", "a-late", "a-001", "a-000"]


def draft(practice_id: str, author_id: str, recipients: list[str]) -> Draft:
    return Draft(practice_id, author_id, unique("idem-"), "Closed Friday.", None, tuple(recipients))


async def publish(stores: Stores, drafts: list[Draft]) -> list[str]:
    """Store the announcements, then list them as the consumer would: each in a partition
    of its own, in an order other than the one they were created in."""
    ids = []
    for d in drafts:
        announcement_id = unique("a-")
        assert await stores.announcements.insert(announcement_id, d) is not None
        ids.append(announcement_id)
    published = [(i, random.randrange(PARTITIONS)) for i in ids]
    random.shuffle(published)
    for n in range(0, len(published), 4):
        await stores.announcements.list_published(published[n : n + 4])
    return ids


async def walk(read: Any, limit: int) -> tuple[list[str], int]:
    """Every page of a list by its cursor: the ids in order, and how many pages."""
    ids, after, pages = [], None, 0
    while True:
        page = await read(after=after, limit=limit)
        ids += [a.announcement_id for a in page.items]
        pages += 1
        if page.next_after is None:
            return ids, pages
        assert page.next_after != after
        after = page.next_after


async def test_a_cursor_walk_lists_every_announcement_once_newest_first(
    stores: Stores,
) -> None:
    practice, author = unique("pr-"), unique("p-")
    mine = await publish(stores, [draft(practice, author, ["c-1"]) for _ in range(14)])
    await publish(stores, [draft(practice, unique("p-"), ["c-1"]) for _ in range(3)])

    async def read(*, after: str | None, limit: int) -> Any:
        return await stores.announcements.by_author(practice, author, after=after, limit=limit)

    found, pages = await walk(read, limit=4)

    assert found == list(reversed(mine))
    assert pages == 4


async def test_an_inbox_holds_only_what_addresses_its_client_in_its_practice(
    stores: Stores,
) -> None:
    practice, other = unique("pr-"), unique("pr-")
    client, author = "c-" + unique(), unique("p-")
    addressed = [[client], ["c-else"], ["c-else", client], ["c-else"], ["c-else"]] * 6
    addressed[0] = [client, "c-rare"]  # the oldest addresses one more client
    ids = await publish(stores, [draft(practice, author, to) for to in addressed])
    await publish(stores, [draft(other, author, [client]) for _ in range(5)])
    theirs = [i for i, to in zip(ids, addressed, strict=True) if client in to]

    async def read(*, after: str | None, limit: int) -> Any:
        return await stores.announcements.addressed_to(practice, client, after=after, limit=limit)

    found, _ = await walk(read, limit=1)
    assert found == list(reversed(theirs))
    # A page stops after ten entries looked at (for one item asked), found or not.
    rare = await stores.announcements.addressed_to(practice, "c-rare", after=None, limit=1)
    assert rare.items == [] and rare.next_after is not None
    nobody = await stores.announcements.addressed_to(practice, "c-nobody", after=None, limit=50)
    assert nobody.items == [] and nobody.next_after is None
