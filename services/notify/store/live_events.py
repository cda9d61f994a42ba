"""Recent live events per user, kept so a reconnecting browser can catch up."""

from typing import Any

from services.notify.domain import LiveEvent
from shared.mongo import DuplicateKeyError, find_by_id


def _event(doc: dict[str, Any]) -> LiveEvent:
    return LiveEvent(
        id=doc["_id"],
        user_id=doc["user_id"],
        kind=doc["kind"],
        data=doc["data"],
        occurred_at=doc["occurred_at"],
    )


class LiveEvents:
    """The `live_events` collection: every notify process stores each event once (by id)."""

    def __init__(self, db: Any, *, retention: int) -> None:
        self._events = db["live_events"]
        self._retention = retention

    async def ensure_indexes(self) -> None:
        """Replay reads a user's events in order."""
        await self._events.create_index(
            [("user_id", 1), ("occurred_at", 1), ("_id", 1)], name="user_order"
        )

    async def add(self, event: LiveEvent) -> bool:
        """Store an event; False if another process stored it already."""
        try:
            await self._events.insert_one(
                {
                    "_id": event.id,
                    "user_id": event.user_id,
                    "kind": event.kind,
                    "data": event.data,
                    "occurred_at": event.occurred_at,
                }
            )
        except DuplicateKeyError:
            return False
        return True

    async def after(self, user_id: str, last_event_id: str) -> list[LiveEvent]:
        """The user's events after the given one; all kept ones if that id is unknown."""
        where: dict[str, Any] = {"user_id": user_id}
        last = await find_by_id(self._events, last_event_id, user_id=user_id)
        if last is not None:
            # Inclusive of the same instant: events stored with equal times are resent
            # rather than risked; only the last one seen is certainly not missed.
            where["occurred_at"] = {"$gte": last["occurred_at"]}
            where["_id"] = {"$ne": last["_id"]}
        cursor = (
            self._events.find(where).sort([("occurred_at", 1), ("_id", 1)]).limit(self._retention)
        )
        return [_event(doc) async for doc in cursor]

    async def prune(self, user_id: str) -> int:
        """Drop a user's events beyond the newest `retention` ones."""
        cursor = (
            self._events.find({"user_id": user_id})
            .sort([("occurred_at", -1), ("_id", -1)])
            .skip(self._retention)
            .limit(1)
        )
        oldest_kept = [doc async for doc in cursor]
        if not oldest_kept:
            return 0
        result = await self._events.delete_many(
            {"user_id": user_id, "occurred_at": {"$lte": oldest_kept[0]["occurred_at"]}}
        )
        return int(result.deleted_count)
