"""Per-participant views of threads: read position, unread flag, archive, last activity."""

import contextlib
from datetime import datetime
from typing import Any

from pymongo import ReturnDocument

from services.threads.domain import Role, View
from shared.mongo import DuplicateKeyError, drop_index, find_each, update_each
from shared.outbox import new_revision


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
        unread=bool(doc.get("unread")),
        archived=bool(doc.get("archived")),
        last_incoming_seq=doc.get("last_incoming_seq", 0),
        own_after_read=doc.get("own_after_read", 0),
    )


class ViewStore:
    """The views collection: one document per (thread, participant)."""

    def __init__(self, db: Any) -> None:
        self.collection = db["views"]

    async def ensure_indexes(self) -> None:
        """None: a view is read by its `_id` (participant and thread); listing and red-dot
        counts come from the participant's inbox document (`store.inbox`). The indexes of
        the queries that did (before) go, or every view update keeps maintaining them."""
        for name in ("box", "unread_in_practice"):
            await drop_index(self.collection, name)

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
        doc = await self.by_id(view_id(thread_id, participant_id))
        return to_view(doc) if doc else None

    async def _update(self, _id: str, update: dict[str, Any]) -> dict[str, Any] | None:
        """Apply an update to one view by `_id` alone; the view as it was before."""
        doc: dict[str, Any] | None = await self.collection.find_one_and_update(
            {"_id": _id}, update, return_document=ReturnDocument.BEFORE
        )
        return doc

    async def on_sent(
        self, thread_id: str, sender_id: str, seq: int, at: datetime
    ) -> dict[str, Any] | None:
        """The sender's own message: sending reads everything before it; the view after."""
        change = View.on_own(seq, at)
        doc: dict[str, Any] | None = await self.collection.find_one_and_update(
            {"_id": view_id(thread_id, sender_id)},
            {"$max": change.raised, "$set": {**change.set, **new_revision()}},
            return_document=ReturnDocument.AFTER,
        )
        return doc

    async def on_received(
        self, thread_id: str, recipient_id: str, seq: int, at: datetime
    ) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
        """A message from the other party: unread and back in the inbox, unless read past.

        Returns the view before and after, or (None, None) when the view is missing.
        """
        _id = view_id(thread_id, recipient_id)
        change = View.on_incoming(seq, at)
        raised, fields = change.raised, {**change.set, **new_revision()}
        before = await self._update(_id, {"$max": raised, "$set": fields})
        if before is None:
            return None, None
        after = {**before, **fields}
        for key, value in raised.items():
            current = before.get(key)
            after[key] = value if current is None or value > current else current
        if View.read_past(before.get("read_seq", 0), seq):
            kept = {
                "unread": before.get("unread", False),
                "archived": before.get("archived", False),
            }
            await self.collection.update_one({"_id": _id}, {"$set": kept})
            after.update(kept)
        return before, after

    async def set_state(
        self, thread_id: str, participant_id: str, fields: dict[str, Any]
    ) -> dict[str, Any] | None:
        """Set the participant's own state fields (read, unread, archive); the view after."""
        doc: dict[str, Any] | None = await self.collection.find_one_and_update(
            {"_id": view_id(thread_id, participant_id)},
            {"$set": {**fields, **new_revision()}},
            return_document=ReturnDocument.AFTER,
        )
        return doc

    async def by_id(self, _id: str) -> dict[str, Any] | None:
        """A view document by its id."""
        doc: dict[str, Any] | None = await self.collection.find_one({"_id": _id})
        return doc

    async def rename_other(
        self, view_ids: list[str], names: dict[str, str]
    ) -> list[dict[str, Any]]:
        """Show the other party's new name in these views; the views as written."""
        search = " ".join(v for v in names.values() if v).lower()
        fields = {**names, "other_search": search, **new_revision()}
        await update_each(self.collection, [({"_id": i}, {"$set": fields}) for i in view_ids])
        return [doc for doc in await find_each(self.collection, view_ids) if doc is not None]
