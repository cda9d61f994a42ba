"""Recent live events per user, kept so a reconnecting browser can catch up.

Each user has a log of numbered slots (`live_log`, `_id` = user and slot number). An
event takes the next free slot by inserting it: a racer that finds the slot taken tries
the next, so the unique `_id` orders events without atomic updates. The consumer that owns
an event's partition stores it, so an event is stored once, or twice after a redelivery
(the replay drops the copy by event id).

`live_heads` holds a recent slot of each user, written every few slots: readers go on from
it slot by slot. Replay after `Last-Event-ID` reads slots by `_id`, newest first, until it
meets that event: no query ever scans, whatever the history. Slots that fell out of the
last `retention` are deleted together every few slots, so a user keeps `retention` events
(and up to a few more).
"""

import asyncio
from typing import Any

from pymongo import DeleteOne

from services.notify.domain import LiveEvent
from shared.mongo import DuplicateKeyError, drop_index, upsert

# Users whose newest slot this process remembers (a hint; the database has the truth).
HEAD_CACHE_LIMIT = 10_000
# The stored head is written every this many slots (fewer for short logs: it must stay
# well inside the retained slots, or a reader starting from it would miss them).
HEAD_EVERY = 8
READ_BATCH = 32


def _slot_id(user_id: str, slot: int) -> str:
    return f"{user_id}#{slot}"


def _event(doc: dict[str, Any]) -> LiveEvent:
    return LiveEvent(
        id=doc["event_id"],
        user_id=doc["user_id"],
        kind=doc["kind"],
        data=doc["data"],
        occurred_at=doc["occurred_at"],
    )


class LiveEvents:
    """The `live_log` and `live_heads` collections."""

    def __init__(self, db: Any, *, retention: int) -> None:
        self._db = db
        self._log = db["live_log"]
        self._heads = db["live_heads"]
        self._retention = retention
        self._head_every = max(1, min(HEAD_EVERY, retention // 4))
        self._head_hint: dict[str, int] = {}

    async def drop_legacy_indexes(self) -> None:
        """Earlier versions queried events by user and time, and kept a map from event ids
        to slots (`live_seen`); nothing reads either now."""
        await drop_index(self._db["live_events"], "user_order")
        await self._db.drop_collection("live_seen")

    async def _stored_head(self, user_id: str) -> int:
        doc = await self._heads.find_one({"_id": user_id})
        return int(doc["seq"]) if doc else 0

    async def add(self, event: LiveEvent) -> None:
        """Store an event in the next free slot of its user's log."""
        user = event.user_id
        hint = self._head_hint.get(user)
        slot = (hint if hint is not None else await self._stored_head(user)) + 1
        while True:
            try:
                await self._log.insert_one(
                    {
                        "_id": _slot_id(user, slot),
                        "event_id": event.id,
                        "user_id": user,
                        "kind": event.kind,
                        "data": event.data,
                        "occurred_at": event.occurred_at,
                    }
                )
                break
            except DuplicateKeyError:
                slot += 1  # taken by a concurrent event: the next one
        self._remember(user, slot)
        if slot % self._head_every == 0:
            # Every few slots: the stored head, and the slots that fell out of the window
            # since the last time (one command; each slot's writer covers its own range).
            await upsert(self._heads, {"_id": user}, {"$max": {"seq": slot}})
            expired = range(
                max(1, slot - self._retention - self._head_every + 1), slot - self._retention + 1
            )
            if expired:
                await self._log.bulk_write(
                    [DeleteOne({"_id": _slot_id(user, s)}) for s in expired], ordered=False
                )

    def _remember(self, user_id: str, slot: int) -> None:
        if len(self._head_hint) >= HEAD_CACHE_LIMIT:
            self._head_hint.clear()
        self._head_hint[user_id] = max(slot, self._head_hint.get(user_id, 0))

    async def after(self, user_id: str, last_event_id: str) -> list[LiveEvent]:
        """The user's events after the given one; all kept ones if that id is unknown."""
        head = max(await self._stored_head(user_id), self._head_hint.get(user_id, 0))
        while await self._log.find_one({"_id": _slot_id(user_id, head + 1)}) is not None:
            head += 1  # written after the stored head, or by another process
        floor = max(1, head - self._retention + 1)
        newest_first: list[dict[str, Any]] = []
        top = head
        while top >= floor:
            low = max(floor, top - READ_BATCH + 1)
            batch = await self._slots(user_id, range(top, low - 1, -1))
            met = [i for i, d in enumerate(batch) if d["event_id"] == last_event_id]
            if met:
                newest_first += batch[: met[0]]
                break
            newest_first += batch
            top = low - 1
        events: dict[str, LiveEvent] = {}
        for doc in reversed(newest_first):
            events.setdefault(doc["event_id"], _event(doc))
        return sorted(events.values(), key=lambda e: (e.occurred_at, e.id))

    async def _slots(self, user_id: str, slots: range) -> list[dict[str, Any]]:
        async def one(slot: int) -> dict[str, Any] | None:
            found: dict[str, Any] | None = await self._log.find_one(
                {"_id": _slot_id(user_id, slot)}
            )
            return found

        return [d for d in await asyncio.gather(*(one(s) for s in slots)) if d is not None]
