"""Live events for open streams (the LiveFeed use case)."""

import asyncio
from contextlib import aclosing
from datetime import UTC, datetime

from services.notify.channels.live import LiveHub
from services.notify.domain import LiveEvent
from services.notify.handlers.live import LiveFeed
from tests.unit.notify.fakes import FakeLiveEvents

NOW = datetime(2030, 1, 1, tzinfo=UTC)


def unread(n: int, user: str = "u-1") -> LiveEvent:
    return LiveEvent(f"e-{user}-{n}", user, "unread", {"unread_threads": n}, NOW)


async def test_a_stream_replays_what_was_missed_then_shows_live_events_once() -> None:
    feed = LiveFeed(LiveHub(), FakeLiveEvents())
    await feed.keep(unread(1), unread(2), unread(3), unread(9, user="someone-else"))

    async with aclosing(feed.stream("u-1", "e-u-1-1")) as stream:
        replayed = [await anext(stream), await anext(stream)]
        # Subscribed before the replay began: an event emitted now reaches it live, and
        # one replayed already is not shown again.
        live = asyncio.ensure_future(anext(stream))
        feed.emit(unread(3))
        feed.emit(unread(4))
        shown = await asyncio.wait_for(live, 1)

    assert [e.id for e in replayed] == ["e-u-1-2", "e-u-1-3"]
    assert shown.id == "e-u-1-4"


async def test_emitting_reaches_open_streams_and_stores_nothing() -> None:
    events = FakeLiveEvents()
    feed = LiveFeed(LiveHub(), events)
    async with aclosing(feed.stream("u-1", None)) as stream:
        first = asyncio.ensure_future(anext(stream))
        await asyncio.sleep(0)  # the stream is open before the event comes
        feed.emit(unread(1), unread(7, user="u-2"))
        shown = await asyncio.wait_for(first, 1)

    assert shown.id == "e-u-1-1"
    assert events.stored == []


async def test_kept_events_are_stored_in_each_users_order() -> None:
    events = FakeLiveEvents()
    feed = LiveFeed(LiveHub(), events)

    await feed.keep(unread(1), unread(7, user="u-2"), unread(2), unread(3))

    assert [e.id for e in events.stored if e.user_id == "u-1"] == ["e-u-1-1", "e-u-1-2", "e-u-1-3"]
    assert [e.id for e in events.stored if e.user_id == "u-2"] == ["e-u-2-7"]
