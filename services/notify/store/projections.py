"""Local projections of other services' facts: client emails, read positions, red dots."""

from typing import Any

from shared.events.clients import ClientRecordChanged
from shared.events.threads import ThreadStateChanged
from shared.mongo import find_by_id


class ClientEmails:
    """From `practice.clients.v1`: only what notify needs (email, status), never names."""

    def __init__(self, db: Any) -> None:
        self._clients = db["client_emails"]

    async def upsert(self, record: ClientRecordChanged) -> None:
        """Keep the latest record of a client (replays change nothing)."""
        await self._clients.update_one(
            {"_id": record.client_id},
            {
                "$set": {
                    "practice_id": record.practice_id,
                    "email": record.email,
                    "active": record.status == "active",
                }
            },
            upsert=True,
        )

    async def email_of(self, practice_id: str, client_id: str) -> str | None:
        """An active client's email address, if the practice has one."""
        doc = await find_by_id(self._clients, client_id, practice_id=practice_id)
        if doc is None or not doc.get("active", True):
            return None
        email: str | None = doc.get("email")
        return email


class ReadState:
    """From `messaging.threads.v1`: how far each participant has read, and their red dot."""

    def __init__(self, db: Any) -> None:
        self._reads = db["read_state"]
        self._badges = db["badges"]

    async def apply(self, event: ThreadStateChanged) -> None:
        """Record a participant's read position (it only moves forward) and red-dot count."""
        await self._reads.update_one(
            {"_id": f"{event.thread_id}:{event.participant_id}"},
            {
                "$max": {"read_seq": event.read_seq},
                "$set": {"unread": event.unread, "thread_id": event.thread_id},
            },
            upsert=True,
        )
        await self._badges.update_one(
            {"_id": event.participant_id, "as_of": {"$lte": event.occurred_at}},
            {"$set": {"unread_threads": event.unread_threads, "as_of": event.occurred_at}},
        )
        await self._badges.update_one(
            {"_id": event.participant_id},
            {"$setOnInsert": {"unread_threads": event.unread_threads, "as_of": event.occurred_at}},
            upsert=True,
        )

    async def read_seq(self, thread_id: str, participant_id: str) -> int:
        """The highest message seq the participant has read in a thread (0: none)."""
        doc = await self._reads.find_one({"_id": f"{thread_id}:{participant_id}"})
        return int(doc["read_seq"]) if doc else 0

    async def unread_threads(self, participant_id: str) -> int | None:
        """The participant's latest known red-dot count, if any."""
        doc = await self._badges.find_one({"_id": participant_id})
        return int(doc["unread_threads"]) if doc else None
