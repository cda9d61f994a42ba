"""Fan-out at scale: 1,000 recipients, the announcement delivered twice, one push each.

Its own module (and so its own notify instance): the backlog never delays other tests.
"""

import collections
import time
from collections.abc import Awaitable, Callable

import pytest

from services.notify.domain import Channel, delivery_id
from tests.notify.conftest import Notify
from tests.notify.factories import add_devices, announcement, publish
from tests.support import eventually, unique

CHANNELS: tuple[Channel, ...] = ("inbox", "push", "email")


@pytest.mark.timeout(330)
async def test_announcement_to_1000_recipients_pushes_each_exactly_once_when_replayed(
    notify: Notify,
) -> None:
    recipients = [unique("c-") for _ in range(1000)]
    tokens = {r: unique("tok-") for r in recipients}
    await add_devices(notify.stores.users, tokens)
    wanted = set(tokens.values())
    event = announcement(recipients)

    def pushed() -> list[str]:
        return [
            d["pushkey"]
            for r in notify.gateway.requests
            for d in r["notification"]["devices"]
            if d["pushkey"] in wanted
        ]

    started = time.monotonic()
    await publish(event)
    await publish(event)  # a redelivered event never notifies twice
    await eventually(lambda: _true(len(pushed()) >= 1000), timeout=300)
    elapsed = time.monotonic() - started
    print(f"\n[notify] 1,000-recipient announcement: 1,000 pushes in {elapsed:.2f}s")

    ids = [delivery_id(event.announcement_id, r, c) for r in recipients for c in CHANNELS]

    async def counts() -> dict[str, int]:
        found = await notify.stores.deliveries.get_many(ids)
        return dict(collections.Counter(d.channel for d in found.values()))

    full = dict.fromkeys(CHANNELS, 1000)
    found = await eventually(lambda: _full(counts, full), timeout=60)
    assert found == full
    assert sorted(pushed()) == sorted(wanted)  # exactly one push per recipient


async def _true(value: bool) -> bool:
    return value


async def _full(
    counts: Callable[[], Awaitable[dict[str, int]]], full: dict[str, int]
) -> dict[str, int] | None:
    found = await counts()
    return found if found == full else None
