"""The recovery sweep's one query and the instances' heartbeats, on the real database."""

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


async def test_the_sweep_finds_expired_leases_and_every_entry_of_a_gone_instance(
    queue: WorkQueue,
) -> None:
    minute, lease = timedelta(minutes=1), timedelta(minutes=2)
    await queue.add(
        [
            entry("mine-later", "me", 15 * minute, lease),
            entry("gone-soon", "gone", minute, lease),
            entry("gone-later", "gone", 15 * minute, lease),
            entry("theirs-soon", "them", minute, lease),
            entry("theirs-expired", "them", -5 * minute, lease),
        ]
    )
    now = utcnow()

    backstop = await queue.claimable(now)
    takeover = await queue.claimable(now, dead=["gone"])
    restart = await queue.claimable(now, owned_by="me")
    page = await queue.claimable(now, dead=["gone"], after="gone-soon")

    assert [e.id for e in backstop] == ["theirs-expired"]
    assert [e.id for e in takeover] == ["gone-later", "gone-soon", "theirs-expired"]
    assert [e.id for e in restart] == ["mine-later", "theirs-expired"]
    assert [e.id for e in page] == ["theirs-expired"]  # in `_id` order, past the last one


async def test_heartbeats_tell_which_instances_are_gone(queue: WorkQueue) -> None:
    now = utcnow()
    await queue.beat("stopped", now)
    await queue.beat("alive", now + timedelta(minutes=2))
    await queue.beat("late", now - timedelta(minutes=5))
    await queue.beat("late", now + timedelta(minutes=2))  # it beat again: alive

    assert await queue.gone(now) == ["stopped"]
    await queue.forget("stopped")
    assert await queue.gone(now) == []
    assert sorted(await queue.gone(now + timedelta(minutes=3))) == ["alive", "late"]
