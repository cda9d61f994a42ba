"""Announcements and the client projection; the announcements own the outbox."""

import logging
from typing import Any

from services.announcements.domain import Announcement, Draft, Receipt, sort_key, split_parts
from shared.clock import utcnow
from shared.crypto import EnvelopeCipher
from shared.events.announcements import AnnouncementPublished
from shared.events.base import Event
from shared.events.clients import ClientRecordChanged
from shared.ids import new_id, stable_uuid
from shared.mongo import DuplicateKeyError
from shared.outbox import Derive, Document, Outbox, new_revision

log = logging.getLogger(__name__)

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


def make_derive(per_part: int) -> Derive:
    """The outbox's event derivation: an announcement document → its published parts."""

    async def derive(doc: Document) -> list[Event]:
        parts = split_parts(list(doc["recipient_ids"]), per_part)
        return [
            AnnouncementPublished(
                event_id=stable_uuid(doc["_id"], doc["rev"], number),
                occurred_at=doc["created_at"],
                announcement_id=doc["_id"],
                practice_id=doc["practice_id"],
                author_id=doc["author_id"],
                part=number,
                parts=len(parts),
                recipient_count=doc["recipient_count"],
                recipient_ids=ids,
            )
            for number, ids in enumerate(parts, start=1)
        ]

    return derive


# Reads never need the (possibly 50,000 long) recipient list back.
_WITHOUT_RECIPIENTS = {"recipient_ids": 0}


class AnnouncementStore:
    """Announcements with their resolved recipients; texts sealed at rest; store-then-publish."""

    def __init__(
        self,
        db: Any,
        cipher: EnvelopeCipher,
        outbox: Outbox,
        *,
        per_part: int,
    ) -> None:
        self._announcements = db["announcements"]
        self._cipher = cipher
        self._derive = make_derive(per_part)
        self.outbox = outbox
        outbox.on("announcement", self._recover)

    async def _recover(self, ref: Document) -> list[Event]:
        doc = await self._announcements.find_one({"_id": ref["id"]})
        return await self._derive(doc) if doc is not None else []

    async def ensure_indexes(self) -> None:
        """Idempotency, the author's list, the recipients' inbox and the outbox relay."""
        await self._announcements.create_index(
            [("author_id", 1), ("idempotency_key", 1)], name="author_idempotency", unique=True
        )
        await self._announcements.create_index(
            [("practice_id", 1), ("author_id", 1), ("sort_key", -1)], name="author_list"
        )
        await self._announcements.create_index(
            [("recipient_ids", 1), ("sort_key", -1)], name="recipient_inbox"
        )

    async def create(self, draft: Draft) -> Receipt:
        """Store a new announcement and publish it; a repeated idempotency key returns the first."""
        announcement_id = new_id()
        intent = await self.outbox.intend("announcement", id=announcement_id)
        try:
            doc = await self.insert(announcement_id, draft)
        except DuplicateKeyError:
            self.outbox.discard(intent)
            existing = await self.find_receipt(draft.author_id, draft.idempotency_key)
            if existing is None:  # pragma: no cover - the unique index just said it exists
                raise
            return existing
        await self.outbox.publish_soon(intent, await self._derive(doc))
        return Receipt(doc["_id"], doc["recipient_count"])

    async def insert(self, announcement_id: str, draft: Draft) -> dict[str, Any]:
        """Write the announcement in one insert (no publish)."""
        now = utcnow()
        created_at = now.replace(microsecond=now.microsecond // 1000 * 1000)  # BSON precision
        doc: dict[str, Any] = {
            "_id": announcement_id,
            "practice_id": draft.practice_id,
            "author_id": draft.author_id,
            "idempotency_key": draft.idempotency_key,
            "body": self._cipher.seal(draft.body, announcement_id),
            "subject": (
                self._cipher.seal(draft.subject, announcement_id)
                if draft.subject is not None
                else None
            ),
            "recipient_ids": list(draft.recipient_ids),
            "recipient_count": len(draft.recipient_ids),
            "created_at": created_at,
            "sort_key": sort_key(created_at, announcement_id),
            **new_revision(),
        }
        await self._announcements.insert_one(doc)
        return doc

    async def find_receipt(self, author_id: str, idempotency_key: str) -> Receipt | None:
        """The announcement an author already sent with this idempotency key, if any."""
        doc = await self._announcements.find_one(
            {"author_id": author_id, "idempotency_key": idempotency_key},
            {"_id": 1, "recipient_count": 1},
        )
        return Receipt(doc["_id"], doc["recipient_count"]) if doc else None

    async def get(self, announcement_id: str) -> Announcement | None:
        """One announcement, decrypted, or None."""
        doc = await self._announcements.find_one({"_id": announcement_id}, _WITHOUT_RECIPIENTS)
        return self._announcement(doc) if doc else None

    async def by_author(
        self, practice_id: str, author_id: str, *, after: str | None, limit: int
    ) -> list[Announcement]:
        """An author's announcements, newest first."""
        where: dict[str, Any] = {"practice_id": practice_id, "author_id": author_id}
        return await self._page(where, after=after, limit=limit)

    async def addressed_to(
        self, practice_id: str, client_id: str, *, after: str | None, limit: int
    ) -> list[Announcement]:
        """Announcements whose recipients include the client, newest first."""
        where: dict[str, Any] = {"practice_id": practice_id, "recipient_ids": client_id}
        return await self._page(where, after=after, limit=limit)

    async def get_addressed_to(
        self, announcement_id: str, practice_id: str, client_id: str
    ) -> Announcement | None:
        """One announcement if the client is among its recipients, else None."""
        doc = await self._announcements.find_one(
            {"_id": announcement_id, "practice_id": practice_id, "recipient_ids": client_id},
            _WITHOUT_RECIPIENTS,
        )
        return self._announcement(doc) if doc else None

    async def is_addressed_to(self, announcement_id: str, practice_id: str, client_id: str) -> bool:
        """True when the client is among the announcement's recipients."""
        count: int = await self._announcements.count_documents(
            {"_id": announcement_id, "practice_id": practice_id, "recipient_ids": client_id},
            limit=1,
        )
        return count > 0

    async def _page(
        self, where: dict[str, Any], *, after: str | None, limit: int
    ) -> list[Announcement]:
        if after:
            where["sort_key"] = {"$lt": after}
        cursor = self._announcements.find(where, _WITHOUT_RECIPIENTS).sort("sort_key", -1)
        return [self._announcement(doc) async for doc in cursor.limit(limit)]

    def _announcement(self, doc: dict[str, Any]) -> Announcement:
        aad = doc["_id"]
        return Announcement(
            announcement_id=doc["_id"],
            practice_id=doc["practice_id"],
            author_id=doc["author_id"],
            subject=self._cipher.open(doc["subject"], aad) if doc.get("subject") else None,
            body=self._cipher.open(doc["body"], aad),
            created_at=doc["created_at"],
            recipient_count=doc["recipient_count"],
            sort_key=doc["sort_key"],
        )
