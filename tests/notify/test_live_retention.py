"""Each user keeps their newest live events only: old slots are deleted as new ones come."""

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from services.notify.events import message_arrived
from services.notify.store.live_events import LiveEvents
from tests.notify.conftest import Notify
from tests.notify.factories import message_sent
from tests.support import unique

RETENTION = 3


@pytest.fixture(scope="module")
def notify_overrides() -> dict[str, Any]:
    """A short replay window."""
    return {"notify_live_retention": RETENTION}


async def test_a_user_keeps_the_newest_events_and_replays_from_a_known_one(
    notify: Notify,
) -> None:
    provider = unique("p-")
    now = datetime.now(UTC)
    messages = [
        message_sent(
            provider, recipient_role="provider", seq=n, occurred_at=now + timedelta(seconds=n)
        )
        for n in range(1, 6)
    ]
    for message in messages:
        await notify.deps.feed.keep(message_arrived(message))
    store = notify.deps.feed.events
    ids = [f"{m.event_id}:message" for m in messages]

    kept = await store.after(provider, "unknown")
    after_third = await store.after(provider, ids[2])
    after_pruned = await store.after(provider, ids[0])

    assert [e.id for e in kept] == ids[2:]
    assert [e.id for e in after_third] == ids[3:]
    assert [e.id for e in after_pruned] == ids[2:]  # unknown by now: everything kept
    log = store._log
    assert await log.find_one({"_id": f"{provider}#1"}) is None
    assert await log.find_one({"_id": f"{provider}#2"}) is None
    assert await log.find_one({"_id": f"{provider}#3"}) is not None


async def test_an_event_stored_twice_after_a_redelivery_is_replayed_once(notify: Notify) -> None:
    provider = unique("p-")
    now = datetime.now(UTC)
    first, second = (
        message_sent(
            provider, recipient_role="provider", seq=n, occurred_at=now + timedelta(seconds=n)
        )
        for n in (1, 2)
    )
    for message in (first, second, second):  # the owner redelivered the second one
        await notify.deps.feed.keep(message_arrived(message))
    store = notify.deps.feed.events

    kept = await store.after(provider, "unknown")
    after_first = await store.after(provider, f"{first.event_id}:message")

    assert [e.id for e in kept] == [f"{first.event_id}:message", f"{second.event_id}:message"]
    assert [e.id for e in after_first] == [f"{second.event_id}:message"]


async def test_slots_out_of_the_window_are_deleted_together_every_few_slots(
    notify: Notify,
) -> None:
    store = LiveEvents(notify.deps.feed.events._db, retention=16)  # the head every 4 slots
    provider = unique("p-")
    now = datetime.now(UTC)
    for n in range(1, 23):
        message = message_sent(
            provider, recipient_role="provider", seq=n, occurred_at=now + timedelta(seconds=n)
        )
        await store.add(message_arrived(message))

    async def kept(slot: int) -> bool:
        return await store._log.find_one({"_id": f"{provider}#{slot}"}) is not None

    # Slot 20 deleted 1-4; 5 and 6 go when slot 24 comes.
    assert [slot for slot in range(1, 23) if await kept(slot)] == list(range(5, 23))
    assert len(await store.after(provider, "unknown")) == 16
