"""Per-participant views of threads: read position, unread flag, archive, last activity."""

import contextlib
import re
from datetime import datetime
from typing import Any

from pymongo import ReturnDocument

from services.threads.domain import Role, View
from shared.mongo import DuplicateKeyError
from shared.outbox import pending_update


def view_id(thread_id: str, participant_id: str) -> str:
    """The id of one participant's view of one thread."""
    return f"{thread_id}:{participant_id}"


def to_view(doc: dict[str, Any]) -> View:
    """The domain object of a view document."""
    return View(
        thread_id=doc["thread_id"],
        participant_id=doc["participant_id"],
        role=doc["role"],
        other_id=doc["other_id"],
        other_first_name=doc.get("other_first_name", ""),
        other_last_name=doc.get("other_last_name", ""),
        other_display_name=doc.get("other_display_name", ""),
        created_at=doc["created_at"],
        last_message_at=doc.get("last_message_at"),
        activity_at=doc["activity_at"],
        last_seq=doc.get("last_seq", 0),
        read_seq=doc.get("read_seq", 0),
        unread=doc.get("unread", False),
        archived=doc.get("archived", False),
    )


class ViewStore:
    """The views collection: one document per (thread, participant)."""

    def __init__(self, db: Any) -> None:
        self.collection = db["views"]

    async def ensure_indexes(self) -> None:
        """One view per participant and thread; listing and red-dot counts."""
        await self.collection.create_index(
            [("thread_id", 1), ("participant_id", 1)], unique=True, name="one_per_participant"
        )
        await self.collection.create_index(
            [("participant_id", 1), ("archived", 1), ("activity_at", -1)], name="box"
        )
        await self.collection.create_index([("participant_id", 1), ("unread", 1)], name="unread")

    async def ensure(
        self,
        *,
        thread_id: str,
        practice_id: str,
        participant_id: str,
        role: Role,
        other_id: str,
        other_names: dict[str, str],
        created_at: datetime,
    ) -> None:
        """Create the view unless it exists (replaying changes nothing)."""
        search = " ".join(v for v in other_names.values() if v).lower()
        with contextlib.suppress(DuplicateKeyError):  # a concurrent ensure created it
            await self._insert_if_missing(
                view_id(thread_id, participant_id),
                {
                    "thread_id": thread_id,
                    "practice_id": practice_id,
                    "participant_id": participant_id,
                    "role": role,
                    "other_id": other_id,
                    **other_names,
                    "other_search": search,
                    "created_at": created_at,
                    "activity_at": created_at,
                    "last_message_at": None,
                    "last_seq": 0,
                    "read_seq": 0,
                    "unread": False,
                    "archived": False,
                },
            )

    async def _insert_if_missing(self, _id: str, fields: dict[str, Any]) -> None:
        await self.collection.update_one({"_id": _id}, {"$setOnInsert": fields}, upsert=True)

    async def get(self, thread_id: str, participant_id: str) -> View | None:
        """One participant's view of a thread."""
        doc = await self.collection.find_one({"_id": view_id(thread_id, participant_id)})
        return to_view(doc) if doc else None

    async def _update(self, where: dict[str, Any], update: dict[str, Any]) -> dict[str, Any] | None:
        doc: dict[str, Any] | None = await self.collection.find_one_and_update(
            where, update, return_document=ReturnDocument.AFTER
        )
        return doc

    async def touch(self, thread_id: str, participant_id: str, seq: int, at: datetime) -> None:
        """Advance the last message position (never backwards)."""
        await self.collection.update_one(
            {"_id": view_id(thread_id, participant_id)},
            {"$max": {"last_seq": seq, "last_message_at": at, "activity_at": at}},
        )

    async def mark_incoming(
        self, thread_id: str, participant_id: str, seq: int, at: datetime | None = None
    ) -> dict[str, Any] | None:
        """A message from the other party: unread and back in the inbox, unless already read.

        Also advances the last message position; None when the view had read past `seq`.
        """
        update: dict[str, Any] = {"$set": {"unread": True, "archived": False, **pending_update()}}
        if at is not None:
            update["$max"] = {"last_seq": seq, "last_message_at": at, "activity_at": at}
        return await self._update(
            {"_id": view_id(thread_id, participant_id), "read_seq": {"$lt": seq}}, update
        )

    async def set_read(
        self, thread_id: str, participant_id: str, *, unread: bool, read_seq: int
    ) -> dict[str, Any] | None:
        """Set the read position and flag."""
        return await self._update(
            {"_id": view_id(thread_id, participant_id)},
            {"$set": {"unread": unread, "read_seq": read_seq, **pending_update()}},
        )

    async def set_archived(
        self, thread_id: str, participant_id: str, archived: bool
    ) -> dict[str, Any] | None:
        """Move the thread to the archive or back to the inbox."""
        return await self._update(
            {"_id": view_id(thread_id, participant_id)},
            {"$set": {"archived": archived, **pending_update()}},
        )

    async def count_unread(self, participant_id: str) -> int:
        """The red dot: how many of the participant's threads are unread."""
        return int(
            await self.collection.count_documents(
                {"participant_id": participant_id, "unread": True}
            )
        )

    async def page(
        self,
        participant_id: str,
        practice_id: str,
        *,
        archived: bool,
        query: str | None,
        after: tuple[datetime, str] | None,
        limit: int,
    ) -> list[View]:
        """The participant's threads in one box, newest activity first."""
        where: dict[str, Any] = {
            "participant_id": participant_id,
            "practice_id": practice_id,
            "archived": archived,
        }
        if query and query.strip():
            where["other_search"] = {"$regex": re.escape(" ".join(query.lower().split()))}
        if after is not None:
            at, last_id = after
            where["$or"] = [
                {"activity_at": {"$lt": at}},
                {"activity_at": at, "_id": {"$lt": view_id(last_id, participant_id)}},
            ]
        cursor = self.collection.find(where).sort([("activity_at", -1), ("_id", -1)]).limit(limit)
        return [to_view(doc) async for doc in cursor]

    async def rename_other(self, other_id: str, names: dict[str, str]) -> None:
        """Keep the other party's name current in every view that shows it."""
        search = " ".join(v for v in names.values() if v).lower()
        await self.collection.update_many(
            {"other_id": other_id}, {"$set": {**names, "other_search": search}}
        )
