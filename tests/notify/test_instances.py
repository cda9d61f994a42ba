"""Instances' heartbeats: the work of one that stopped or died is taken over at once.

The queue is not swept on a timer here (the backstop is an hour away): a live instance
learns from the heartbeat documents that another one is gone, and only then takes its
work, whatever that work's leases say. Work of an instance whose heartbeat is current
stays with it.
"""

from datetime import timedelta
from typing import Any

import pytest

from services.notify.domain import Job, QueueEntry, new_delivery
from shared.clock import utcnow
from tests.notify.conftest import Notify, settled
from tests.notify.factories import add_devices
from tests.support import eventually, unique

LEASE = 3.0  # heartbeats every 0.75 s


@pytest.fixture(scope="module")
def notify_overrides() -> dict[str, Any]:
    return {"notify_sweep_interval_seconds": 3600, "notify_lease_seconds": LEASE}


def held_by(owner: str, entry_id: str) -> QueueEntry:
    """An entry its owner holds for another hour."""
    now = utcnow()
    return QueueEntry(
        id=entry_id,
        kind="delivery",
        owner=owner,
        due_at=now,
        lease_until=now + timedelta(hours=1),
        created_at=now,
    )


async def test_a_stopped_instances_work_is_taken_over_without_waiting_for_its_leases(
    notify: Notify,
) -> None:
    queue = notify.stores.queue
    stopped, alive = unique("stopped-"), unique("alive-")
    now = utcnow()
    await queue.beat(stopped, now)  # what a graceful stop writes
    await queue.beat(alive, now + timedelta(hours=1))
    tokens = {unique("c-"): unique("tok-") for _ in range(2)}
    await add_devices(notify.stores.users, tokens)
    (left, kept) = [
        new_delivery(
            Job("direct_message", unique("m-"), unique("pr-"), c, "client", unique("t-"), 1),
            "push",
            now,
        )
        for c in tokens
    ]
    await queue.add([held_by(stopped, left.id), held_by(alive, kept.id)])
    await notify.stores.deliveries.add([left, kept])

    record = await eventually(
        lambda: settled(notify, left.job.source_id, left.job.recipient_id, "push")
    )

    assert record.status == "sent"
    assert len(notify.gateway.pushes_to(tokens[left.job.recipient_id])) == 1
    known = await queue.gone(utcnow() + timedelta(days=1))  # every instance still known
    assert stopped not in known  # its work is all taken: no more looks for it
    assert {alive, notify.deps.jobs.scheduler.owner} <= set(known)
    entry = await queue.get(kept.id)
    assert entry is not None and entry.owner == alive
    assert notify.gateway.pushes_to(tokens[kept.job.recipient_id]) == []
