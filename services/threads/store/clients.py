"""The local projection of the practice client directory."""

import re
from typing import Any

from pymongo import ReturnDocument

from services.threads.domain import Client
from shared.events.clients import ClientRecordChanged
from shared.mongo import find_by_id


def _client(doc: dict[str, Any]) -> Client:
    return Client(
        client_id=doc["_id"],
        practice_id=doc["practice_id"],
        first_name=doc["first_name"],
        last_name=doc["last_name"],
        active=doc["status"] == "active",
    )


class ClientDirectory:
    """The local projection of `practice.clients.v1`."""

    def __init__(self, db: Any) -> None:
        self._clients = db["clients"]

    async def ensure_indexes(self) -> None:
        """Indexes for search and listing within a practice."""
        await self._clients.create_index(
            [("practice_id", 1), ("sort_key", 1)], name="practice_sort"
        )

    async def upsert(self, record: ClientRecordChanged) -> bool:
        """Store the latest record of a client; True when a known client's name changed.

        Replaying a record changes nothing; only a rename needs the views updated (a new
        client has no threads yet), which spares the consumer a search per record.
        """
        before = await self._clients.find_one_and_update(
            {"_id": record.client_id},
            {
                "$set": {
                    "practice_id": record.practice_id,
                    "first_name": record.first_name,
                    "last_name": record.last_name,
                    "status": record.status,
                    "search": f"{record.first_name} {record.last_name}".lower(),
                    "sort_key": Client(
                        record.client_id,
                        record.practice_id,
                        record.first_name,
                        record.last_name,
                        True,
                    ).sort_key,
                    "source_event_id": str(record.event_id),
                },
                # threads never reads a client's email, so it does not keep one (older
                # documents lose theirs on the client's next record).
                "$unset": {"email": ""},
            },
            upsert=True,
            return_document=ReturnDocument.BEFORE,
        )
        if before is None:
            return False
        return bool(
            (before.get("first_name"), before.get("last_name"))
            != (record.first_name, record.last_name)
        )

    async def get(self, practice_id: str, client_id: str) -> Client | None:
        """A client of the given practice, or None (other practices' clients do not exist)."""
        doc = await find_by_id(self._clients, client_id, practice_id=practice_id)
        return _client(doc) if doc else None

    async def search(
        self, practice_id: str, query: str | None, *, after: str | None, limit: int
    ) -> list[Client]:
        """Clients whose "first last" name contains the query, case-insensitively, by name."""
        where: dict[str, Any] = {"practice_id": practice_id}
        if query and query.strip():
            where["search"] = {"$regex": re.escape(" ".join(query.lower().split()))}
        if after:
            where["sort_key"] = {"$gt": after}
        cursor = self._clients.find(where).sort("sort_key", 1).limit(limit)
        return [_client(doc) async for doc in cursor]
