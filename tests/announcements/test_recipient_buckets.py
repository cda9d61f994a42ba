"""Whether a client is among an announcement's recipients is one bucket read by `_id`.

On the real FerretDB: an announcement's recipients are stored by bucket before it, so a
client's read or mark of it never scans the announcements (whose recipient lists run to
50,000 ids each).
"""

import os
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import pytest

from services.announcements.domain import Draft
from services.announcements.store import AnnouncementStore, Timelines
from services.announcements.store.announcements import BUCKET_SIZE
from shared.crypto import EnvelopeCipher
from tests.announcements.watched_db import Filters, watched_database
from tests.support import id_lookup, unique


@dataclass
class Watched:
    store: AnnouncementStore
    db: Any
    filters: Filters


@pytest.fixture
async def watched() -> AsyncIterator[Watched]:
    cipher = EnvelopeCipher({"k1": os.urandom(32)}, "k1")
    async with watched_database("test_buckets_") as (db, filters):
        store = AnnouncementStore(db, cipher, Timelines(db, partitions=3))
        yield Watched(store, db, filters)


def draft(practice_id: str, recipients: list[str], key: str = "k") -> Draft:
    return Draft(practice_id, "p-1", key, "Closed on Friday.", None, tuple(recipients))


async def test_every_recipient_and_no_one_else_is_addressed(watched: Watched) -> None:
    practice = unique("pr-")
    recipients = [f"c-{i}" for i in range(BUCKET_SIZE * 2 + 500)]
    await watched.store.insert("a-1", draft(practice, recipients))
    watched.filters.seen.clear()

    for client_id in recipients[:: BUCKET_SIZE // 4]:
        assert await watched.store.is_addressed_to("a-1", practice, client_id)
    assert await watched.store.get_addressed_to("a-1", practice, recipients[-1]) is not None
    assert not await watched.store.is_addressed_to("a-1", practice, "c-someone-else")
    assert not await watched.store.is_addressed_to("a-1", unique("pr-"), recipients[0])
    assert await watched.store.get_addressed_to("a-1", practice, "c-someone-else") is None
    assert watched.filters.seen
    assert all(id_lookup(f) for f in watched.filters.seen), watched.filters.seen
    buckets = -(-len(recipients) // BUCKET_SIZE)  # rounded up
    assert await watched.db["announcement_recipients"].count_documents({}) == buckets


async def test_a_rival_request_with_other_recipients_leaves_the_stored_one_whole(
    watched: Watched,
) -> None:
    practice = unique("pr-")
    assert await watched.store.insert("a-2", draft(practice, ["c-1", "c-2"])) is not None

    # The same idempotency key (so the same id) with other recipients: turned away.
    assert await watched.store.insert("a-2", draft(practice, ["c-3"])) is None

    assert await watched.store.is_addressed_to("a-2", practice, "c-2")
    assert not await watched.store.is_addressed_to("a-2", practice, "c-3")


async def test_the_recipients_are_kept_in_their_buckets_and_published_alike_after_a_crash(
    watched: Watched,
) -> None:
    recipients = [unique("c-") for _ in range(2 * BUCKET_SIZE + 7)]
    first = await watched.store.insert(unique("a-"), draft(unique("pr-"), recipients))
    assert first is not None

    stored = await watched.db["announcements"].find_one({"_id": first.announcement_id})
    recovered = await watched.store.publication(first.announcement_id)

    assert "recipient_ids" not in stored
    assert stored["recipient_count"] == len(recipients)
    # A recovery republishes the same parts: the same recipients, in the same order.
    assert recovered is not None
    assert recovered.recipient_ids == first.recipient_ids
    assert sorted(first.recipient_ids) == sorted(recipients)


async def test_an_announcement_stored_with_its_own_list_is_still_published_from_it(
    watched: Watched,
) -> None:
    recipients = [unique("c-") for _ in range(3)]
    first = await watched.store.insert(unique("a-"), draft(unique("pr-"), recipients))
    assert first is not None
    # As announcements were stored before their buckets held the only list.
    await watched.db["announcements"].update_one(
        {"_id": first.announcement_id},
        {"$set": {"recipient_ids": recipients}, "$unset": {"recipients": ""}},
    )

    recovered = await watched.store.publication(first.announcement_id)

    assert recovered is not None and list(recovered.recipient_ids) == recipients
