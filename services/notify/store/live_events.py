"""Recent live events per user, kept so a reconnecting browser can catch up.

Each user has a log of numbered slots (`live_log`, `_id` = user and slot number). An
event takes the next free slot by inserting it: a racer that finds the slot taken tries
the next, so the unique `_id` orders events without atomic updates. `live_seen` maps a
stream event id to its slot (it is also what makes every notify process store an event
once), and `live_heads` remembers each user's newest slot as a hint. Replay after
`Last-Event-ID` then reads slots by `_id`: no query ever scans, whatever the history.
Old slots are deleted as new ones are written, so a user keeps `retention` events.
"""

import asyncio
from typing import Any

from services.notify.domain import LiveEvent
from services.notify.store.deliveries import drop_index
from shared.mongo import DuplicateKeyError, upsert

# Users whose newest slot this process remembers (a hint; the database has the truth).
HEAD_CACHE_LIMIT = 10_000
READ_CONCURRENCY = 32


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
    """The `live_log`, `live_seen` and `live_heads` collections."""

    def __init__(self, db: Any, *, retention: int) -> None:
        self._log = db["live_log"]
        self._seen = db["live_seen"]
        self._heads = db["live_heads"]
        self._legacy = db["live_events"]
        self._retention = retention
        self._head_hint: dict[str, int] = {}

    async def drop_legacy_indexes(self) -> None:
        """Earlier versions queried events by user and time; nothing does now."""
        await drop_index(self._legacy, "user_order")

    async def _head(self, user_id: str) -> int:
        hint = self._head_hint.get(user_id)
        if hint is not None:
            return hint
        doc = await self._heads.find_one({"_id": user_id})
        return int(doc["seq"]) if doc else 0

    async def add(self, event: LiveEvent) -> bool:
        """Store an event in its user's log; False if another process stored it already."""
        user = event.user_id
        slot = await self._head(user) + 1
        try:
            await self._seen.insert_one({"_id": event.id, "user_id": user, "slot": slot})
        except DuplicateKeyError:
            return False
        guessed = slot
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
        if slot != guessed:
            await self._seen.update_one({"_id": event.id}, {"$set": {"slot": slot}})
        self._remember(user, slot)
        await upsert(self._heads, {"_id": user}, {"$max": {"seq": slot}})
        if slot > self._retention:
            await self._forget(user, slot - self._retention)
        return True

    def _remember(self, user_id: str, slot: int) -> None:
        if len(self._head_hint) >= HEAD_CACHE_LIMIT:
            self._head_hint.clear()
        self._head_hint[user_id] = max(slot, self._head_hint.get(user_id, 0))

    async def _forget(self, user_id: str, slot: int) -> None:
        dropped = await self._log.find_one_and_delete({"_id": _slot_id(user_id, slot)})
        if dropped is not None:
            await self._seen.delete_one({"_id": dropped["event_id"]})

    async def after(self, user_id: str, last_event_id: str) -> list[LiveEvent]:
        """The user's events after the given one; all kept ones if that id is unknown."""
        doc = await self._heads.find_one({"_id": user_id})
        head = max(int(doc["seq"]) if doc else 0, self._head_hint.get(user_id, 0))
        first = max(1, head - self._retention + 1)
        seen = await self._seen.find_one({"_id": last_event_id}) if last_event_id else None
        if seen is not None and seen.get("user_id") == user_id:
            # From its own slot on: a slot it reserved but never filled holds another event.
            first = max(first, int(seen["slot"]))
        found = await self._slots(user_id, range(first, head + 1))
        slot = head + 1
        while (beyond := await self._log.find_one({"_id": _slot_id(user_id, slot)})) is not None:
            found.append(beyond)  # written after the head hint was read
            slot += 1
        events = [_event(d) for d in found if d["event_id"] != last_event_id]
        return sorted(events, key=lambda e: (e.occurred_at, e.id))[-self._retention :]

    async def _slots(self, user_id: str, slots: range) -> list[dict[str, Any]]:
        limit = asyncio.Semaphore(READ_CONCURRENCY)

        async def one(slot: int) -> dict[str, Any] | None:
            async with limit:
                found: dict[str, Any] | None = await self._log.find_one(
                    {"_id": _slot_id(user_id, slot)}
                )
                return found

        return [d for d in await asyncio.gather(*(one(s) for s in slots)) if d is not None]
