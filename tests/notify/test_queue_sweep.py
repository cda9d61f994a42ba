"""The recovery sweep's one query, on the real database: what it hands out."""

from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import pytest
from pymongo import AsyncMongoClient

from services.notify.domain import QueueEntry
from services.notify.store.queue import WorkQueue
from shared.clock import utcnow
from tests.support import infra_env, unique


@pytest.fixture
async def queue() -> AsyncIterator[WorkQueue]:
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(
        infra_env()["mongodb_url"], tz_aware=True
    )
    name = unique("test_queue_")
    try:
        yield WorkQueue(client[name])
    finally:
        await client.drop_database(name)
        await client.close()


def entry(_id: str, owner: str, due_in: timedelta, lease: timedelta) -> QueueEntry:
    now = utcnow()
    due = now + due_in
    return QueueEntry(
        id=_id, kind="delivery", owner=owner, due_at=due, lease_until=due + lease, created_at=now
    )


async def test_the_sweep_finds_expired_leases_and_an_owners_work_due_soon(
    queue: WorkQueue,
) -> None:
    minute, lease = timedelta(minutes=1), timedelta(minutes=2)
    await queue.add(
        [
            entry("mine-soon", "me", minute, lease),
            entry("mine-later", "me", 15 * minute, lease),
            entry("theirs-soon", "them", minute, lease),
            entry("theirs-expired", "them", -5 * minute, lease),
        ]
    )
    now = utcnow()

    ticking = await queue.claimable(now)
    horizon = await queue.claimable(now, due_soon=("me", now + 2 * minute))

    assert {e.id for e in ticking} == {"theirs-expired"}
    assert {e.id for e in horizon} == {"theirs-expired", "mine-soon"}
