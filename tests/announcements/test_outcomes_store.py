"""Delivery outcomes are written by `_id`: the one lookup the development server indexes.

An upsert filtered on (source, recipient, channel) read the whole collection on FerretDB,
so each outcome cost more than the one before; the stats of a 5,000-recipient
announcement took many minutes to complete (fault suite, test 3).
"""

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from pymongo import AsyncMongoClient, monitoring

from services.announcements.store import DeliveryOutcomes
from shared.events.notify import DeliveryRecorded
from tests.support import infra_env, unique


@dataclass
class Updates(monitoring.CommandListener):
    """The filters of every update command sent."""

    filters: list[dict[str, Any]] = field(default_factory=list)

    def started(self, event: monitoring.CommandStartedEvent) -> None:
        if event.command_name == "update":
            self.filters.extend(dict(u["q"]) for u in event.command["updates"])

    def succeeded(self, event: monitoring.CommandSucceededEvent) -> None:
        pass

    def failed(self, event: monitoring.CommandFailedEvent) -> None:
        pass


@dataclass
class Watched:
    outcomes: DeliveryOutcomes
    collection: Any
    updates: Updates


@pytest.fixture
async def watched() -> AsyncIterator[Watched]:
    updates = Updates()
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(
        infra_env()["mongodb_url"], tz_aware=True, event_listeners=[updates]
    )
    name = unique("test_outcomes_")
    try:
        outcomes = DeliveryOutcomes(client[name])
        await outcomes.ensure_indexes()
        yield Watched(outcomes, client[name]["delivery_outcomes"], updates)
    finally:
        await client.drop_database(name)
        await client.close()


def recorded(announcement_id: str, recipient: str, channel: str, status: str) -> DeliveryRecorded:
    return DeliveryRecorded(
        source="announcement",
        source_id=announcement_id,
        practice_id="pr-1",
        recipient_id=recipient,
        channel=channel,  # type: ignore[arg-type]
        status=status,  # type: ignore[arg-type]
    )


async def test_outcomes_are_written_by_id_only(watched: Watched) -> None:
    announcement = unique("a-")
    await watched.outcomes.record(recorded(announcement, "c1", "push", "failed"))
    await watched.outcomes.record(recorded(announcement, "c1", "push", "sent"))
    await watched.outcomes.record(recorded(announcement, "c2", "inbox", "delivered"))

    assert watched.updates.filters and all(set(f) == {"_id"} for f in watched.updates.filters)
    assert await watched.outcomes.delivered(announcement) == 1
    assert await watched.outcomes.notified_and_failed(announcement) == (1, 0)
    assert await watched.collection.count_documents({"source_id": announcement}) == 2


async def test_an_outcome_stored_under_an_older_id_is_updated_not_doubled(
    watched: Watched,
) -> None:
    announcement = unique("a-")
    key = {"source_id": announcement, "recipient_id": "c1", "channel": "push"}
    await watched.collection.insert_one({**key, "status_failed": True, "last_status": "failed"})

    await watched.outcomes.record(recorded(announcement, "c1", "push", "sent"))

    docs = [d async for d in watched.collection.find(key)]
    assert len(docs) == 1 and docs[0]["status_sent"] and docs[0]["status_failed"]
    assert await watched.outcomes.notified_and_failed(announcement) == (1, 0)
