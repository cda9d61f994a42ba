"""Work a dead instance left in the queue is taken over by the slow sweep once its lease ends.

Nothing polls due work: an instance runs its own work on timers. What another instance
owned is found by the sweep (every 0.5 s here) after that owner's lease has run out.
"""

import time
from datetime import timedelta
from typing import Any

import pytest

from services.notify.domain import Job, Part, QueueEntry, delivery_id, new_delivery, part_entry_id
from shared import topics
from shared.clock import utcnow
from shared.ids import stable_uuid
from tests.notify.conftest import Notify, settled
from tests.notify.factories import add_devices
from tests.support import TopicTail, eventually, header, unique

LEASE = 3.0


@pytest.fixture(scope="module")
def notify_overrides() -> dict[str, Any]:
    """A quick sweep and a short lease, so takeovers happen within the test."""
    return {"notify_sweep_interval_seconds": 0.5, "notify_lease_seconds": LEASE}


def dead_entry(entry_id: str, *, lease_left: float, part: Part | None = None) -> QueueEntry:
    """A queue entry owned by an instance that died (its lease ends in `lease_left` s)."""
    now = utcnow()
    return QueueEntry(
        id=entry_id,
        kind="part" if part else "delivery",
        owner=unique("dead-"),
        due_at=now - timedelta(seconds=10),
        lease_until=now + timedelta(seconds=lease_left),
        created_at=now,
        part=part,
    )


async def test_a_dead_instances_push_is_delivered_once_its_lease_runs_out(notify: Notify) -> None:
    client, token = unique("c-"), unique("tok-")
    await add_devices(notify.stores.users, {client: token})
    job = Job("direct_message", unique("m-"), unique("pr-"), client, "client", unique("t-"), 1)
    push = new_delivery(job, "push", utcnow())
    tools = notify.stores
    started = time.monotonic()
    await tools.queue.add([dead_entry(push.id, lease_left=2.0)])
    await tools.deliveries.add([push])

    record = await eventually(lambda: settled(notify, job.source_id, client, "push"))
    waited = time.monotonic() - started

    print(f"\n[notify] a dead instance's push taken over after {waited:.2f}s (lease left 2s)")
    assert record.status == "sent"
    assert waited >= 1.9  # not before the owner's lease ran out
    assert len(notify.gateway.pushes_to(token)) == 1
    assert await eventually(lambda: _gone(notify, push.id))


async def test_a_part_left_midway_is_finished_without_pushing_anyone_twice(
    notify: Notify,
) -> None:
    done, midway, untouched = (unique("c-") for _ in range(3))
    tokens = {r: unique("tok-") for r in (done, midway, untouched)}
    await add_devices(notify.stores.users, tokens)
    part = Part(unique("a-"), unique("pr-"), 1, (done, midway, untouched))
    jobs = {j.recipient_id: j for j in part.jobs()}
    now = utcnow()

    def final(recipient: str, channel: str, status: str, reason: str | None = None) -> Any:
        return new_delivery(jobs[recipient], channel, now).closed(status, reason, now)  # type: ignore[arg-type]

    # The dead run recorded everything for the first recipient (then died before
    # publishing), and only the inbox of the second.
    earlier = [
        final(done, "inbox", "delivered"),
        final(done, "push", "sent"),
        final(done, "email", "skipped", "no_address"),
        final(midway, "inbox", "delivered"),
    ]
    tools = notify.stores
    republished = {str(stable_uuid(d.id, d.status, "recorded")) for d in earlier}
    async with TopicTail(topics.MESSAGING_DELIVERIES) as outcomes:
        await tools.deliveries.add(earlier)
        await tools.queue.add([dead_entry(part_entry_id(part), lease_left=0.5, part=part)])

        for recipient in (midway, untouched):
            await eventually(lambda r=recipient: settled(notify, part.announcement_id, r, "push"))
        for event_id in republished:
            await outcomes.wait_for(lambda r, i=event_id: header(r, "ce_id") == i)
    await eventually(lambda: _gone(notify, part_entry_id(part)))

    assert notify.gateway.pushes_to(tokens[done]) == []
    assert len(notify.gateway.pushes_to(tokens[midway])) == 1
    assert len(notify.gateway.pushes_to(tokens[untouched])) == 1
    email = await tools.deliveries.get(delivery_id(part.announcement_id, untouched, "email"))
    assert email is not None and (email.status, email.reason) == ("skipped", "no_address")


async def _gone(notify: Notify, entry_id: str) -> bool:
    return await notify.stores.queue.get(entry_id) is None
