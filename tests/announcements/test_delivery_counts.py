"""Delivery counts are kept per partition and counted once, by `_id` only (real FerretDB).

Batches are applied as the consumer applies them: what a redelivery after a crash sees is
reproduced by writing a batch's counters without its stages (the crash after step 2).
"""

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import pytest

from services.announcements.domain import Outcome, Tally
from services.announcements.store import DeliveryStats
from tests.announcements.watched_db import Filters, watched_database
from tests.support import id_lookup, unique


@dataclass
class Watched:
    stats: DeliveryStats
    db: Any
    filters: Filters


@pytest.fixture
async def watched() -> AsyncIterator[Watched]:
    async with watched_database("test_counts_") as (db, filters):
        yield Watched(DeliveryStats(db, partitions=6), db, filters)


class Topic:
    """Outcomes of one announcement at increasing offsets of one partition."""

    def __init__(self, partition: int = 2) -> None:
        self.announcement_id = unique("a-")
        self.partition = partition
        self.offset = 100

    def outcome(self, recipient: str, channel: str, status: str) -> Outcome:
        self.offset += 1
        return Outcome(
            self.announcement_id, "pr-1", recipient, channel, status, self.partition, self.offset
        )


def mixed(topic: Topic) -> list[Outcome]:
    return [
        topic.outcome("c1", "inbox", "delivered"),
        topic.outcome("c1", "push", "failed"),
        topic.outcome("c1", "email", "sent"),  # failed → notified
        topic.outcome("c2", "inbox", "delivered"),
        topic.outcome("c2", "push", "failed"),
        topic.outcome("c3", "push", "skipped"),
        topic.outcome("c3", "live", "sent"),  # a live nudge notifies nobody
    ]


async def test_a_batch_is_counted_by_recipient(watched: Watched) -> None:
    topic = Topic()

    await watched.stats.apply(mixed(topic))

    assert await watched.stats.tally(topic.announcement_id) == Tally(2, 1, 1)


async def test_a_redelivered_batch_changes_nothing(watched: Watched) -> None:
    topic = Topic()
    batch = mixed(topic)
    await watched.stats.apply(batch)

    await watched.stats.apply(batch)
    await watched.stats.apply(list(reversed(batch[:4])))

    assert await watched.stats.tally(topic.announcement_id) == Tally(2, 1, 1)


async def test_a_batch_redelivered_after_its_counters_were_written_is_not_counted_again(
    watched: Watched,
) -> None:
    topic = Topic()
    batch = mixed(topic)
    await watched.stats.apply(batch)
    # The crash after step 2: counters written, the stages never were.
    await watched.db["delivery_stages"].delete_many({"announcement_id": topic.announcement_id})
    later = [topic.outcome("c2", "email", "sent"), topic.outcome("c4", "inbox", "delivered")]
    restarted = DeliveryStats(watched.db, partitions=6)  # the crash lost what it knew

    await restarted.apply(batch + later)

    assert await restarted.tally(topic.announcement_id) == Tally(3, 2, 0)
    for stage in ("delivered", "sent", "failed"):
        _id = f"{topic.announcement_id}:c1:{stage}"
        assert await watched.db["delivery_stages"].find_one({"_id": _id}) is not None


async def test_partitions_are_summed(watched: Watched) -> None:
    first = Topic(partition=0)
    second = Topic(partition=5)
    second.announcement_id = first.announcement_id

    await watched.stats.apply([first.outcome("c1", "inbox", "delivered")])
    await watched.stats.apply([second.outcome("c2", "inbox", "delivered")])

    assert await watched.stats.tally(first.announcement_id) == Tally(2, 0, 0)


async def test_counts_are_read_and_written_by_id_only(watched: Watched) -> None:
    topic = Topic()

    await watched.stats.apply(mixed(topic))
    await watched.stats.tally(topic.announcement_id)

    assert watched.filters.seen
    assert all(id_lookup(f) for f in watched.filters.seen)


async def test_reaches_written_by_another_owner_meanwhile_are_read_again(
    watched: Watched,
) -> None:
    topic = Topic()
    await watched.stats.apply([topic.outcome("c1", "push", "failed")])
    # The partition moved to another process and back: that one notified c1.
    other = DeliveryStats(watched.db, partitions=6)
    await other.apply([topic.outcome("c1", "email", "sent")])

    await watched.stats.apply([topic.outcome("c1", "push", "sent")])

    assert await watched.stats.tally(topic.announcement_id) == Tally(0, 1, 0)


async def test_a_fan_outs_stages_are_inserted_together_and_never_read(watched: Watched) -> None:
    topic = Topic()
    recipients = [f"c{i}" for i in range(50)]
    await watched.stats.apply([topic.outcome(c, "inbox", "delivered") for c in recipients])
    first = list(watched.filters.commands)
    watched.filters.commands.clear()

    await watched.stats.apply([topic.outcome(c, "push", "sent") for c in recipients])

    then = watched.filters.commands
    assert first.count(("insert", "delivery_stages")) == then.count(("insert", "delivery_stages"))
    assert then.count(("insert", "delivery_stages")) == 1
    assert [c for c in first + then if c[1] == "delivery_stages" and c[0] != "insert"] == []
    assert await watched.stats.tally(topic.announcement_id) == Tally(50, 50, 0)
