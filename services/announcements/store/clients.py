"""The client projection: who is a client of which practice, from `practice.clients.v1`."""

from typing import Any

from shared.events.clients import ClientRecordChanged

# Chosen ids are looked up in slices so one query never carries tens of thousands of ids.
_LOOKUP_SLICE = 1000


class ClientProjection:
    """The local projection of `practice.clients.v1`: who is a client of which practice."""

    def __init__(self, db: Any) -> None:
        self._clients = db["clients"]

    async def ensure_indexes(self) -> None:
        """Index for a practice's active clients."""
        await self._clients.create_index(
            [("practice_id", 1), ("status", 1)], name="practice_status"
        )

    async def upsert(self, record: ClientRecordChanged) -> None:
        """Store the latest record of a client (replaying it changes nothing)."""
        await self._clients.update_one(
            {"_id": record.client_id},
            {
                "$set": {
                    "practice_id": record.practice_id,
                    "status": record.status,
                    "source_event_id": str(record.event_id),
                }
            },
            upsert=True,
        )

    async def known(self, practice_id: str, client_ids: tuple[str, ...]) -> set[str]:
        """Those of the ids that are clients of the practice (any status)."""
        found: set[str] = set()
        for start in range(0, len(client_ids), _LOOKUP_SLICE):
            chunk = list(client_ids[start : start + _LOOKUP_SLICE])
            cursor = self._clients.find(
                {"_id": {"$in": chunk}, "practice_id": practice_id}, {"_id": 1}
            )
            found.update([doc["_id"] async for doc in cursor])
        return found

    async def count_active(self, practice_id: str) -> int:
        """How many active clients the practice has."""
        count: int = await self._clients.count_documents(
            {"practice_id": practice_id, "status": "active"}
        )
        return count

    async def active_ids(self, practice_id: str) -> tuple[str, ...]:
        """The ids of the practice's active clients, in id order."""
        cursor = self._clients.find(
            {"practice_id": practice_id, "status": "active"}, {"_id": 1}
        ).sort("_id", 1)
        return tuple([doc["_id"] async for doc in cursor])
