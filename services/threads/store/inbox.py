"""Each participant's inbox: the state of all their threads in one document.

Only the consumer that owns the participant's partition of `messaging.inbox.v1` writes
it, so read-modify-write is safe without atomic updates. Listing threads and the red dot
then read one document by `_id`, whatever the size of the views collection.
"""

import asyncio
import re
import time
from collections import OrderedDict
from datetime import datetime
from typing import Any

from services.threads.domain import View
from services.threads.store.views import to_view as view_of
from services.threads.store.views import view_id
from shared.events.threads import InboxEntryChanged

_ENTRY_FIELDS = tuple(
    name
    for name in InboxEntryChanged.model_fields
    if name not in {"event_id", "occurred_at", "schema_version", "event_type", "participant_id"}
)


def _entry(change: InboxEntryChanged) -> dict[str, Any]:
    fields = {name: getattr(change, name) for name in _ENTRY_FIELDS}
    names = (change.other_first_name, change.other_last_name, change.other_display_name)
    fields["search"] = " ".join(n for n in names if n).lower()
    fields["changed_at"] = change.occurred_at
    return fields


def to_view(participant_id: str, entry: dict[str, Any]) -> View:
    """The domain view an inbox entry holds (an entry is a view snapshot)."""
    return view_of({**entry, "participant_id": participant_id, "role": entry["participant_role"]})


def _newer(change: InboxEntryChanged, current: dict[str, Any] | None) -> bool:
    """A snapshot replaces the stored one unless it is older (views change in order)."""
    if current is None:
        return True
    return bool(change.occurred_at >= current["changed_at"])


# Inboxes the consumer keeps after writing them, so its next write needs no read first.
OWNED_INBOXES_KEPT = 2_000


class InboxStore:
    """The inboxes collection: one document per participant."""

    def __init__(self, db: Any) -> None:
        self.collection = db["inboxes"]
        self._written: OrderedDict[str, dict[str, dict[str, Any]]] = OrderedDict()

    async def ensure_indexes(self) -> None:
        """Nothing: inboxes are read and written by `_id` alone."""

    async def entries(self, participant_id: str) -> dict[str, dict[str, Any]]:
        """The participant's entries by thread id."""
        doc = await self.collection.find_one({"_id": participant_id})
        return dict(doc["entries"]) if doc else {}

    async def counterpart_views(self, participant_id: str) -> list[str]:
        """The other side's views of the participant's threads: where their name shows.

        A thread the participant's inbox does not list yet (its first snapshot still on
        its way) is not among them.
        """
        entries = await self.entries(participant_id)
        return [view_id(thread, entry["other_id"]) for thread, entry in entries.items()]

    async def apply(
        self, participant_id: str, changes: list[InboxEntryChanged]
    ) -> tuple[dict[str, dict[str, Any] | None], dict[str, dict[str, Any]]]:
        """Store the newer of the snapshots.

        Returns the entries they replaced (None for a new thread) and all entries now.

        Only the consumer owning the participant's partition calls this, so the entries it
        wrote last are still the stored ones until its partitions change (`forget_written`).
        """
        written = self._written.pop(participant_id, None)
        entries = dict(written) if written is not None else await self.entries(participant_id)
        replaced: dict[str, dict[str, Any] | None] = {}
        for change in changes:
            current = entries.get(change.thread_id)
            if _newer(change, current):
                replaced.setdefault(change.thread_id, current)
                entries[change.thread_id] = _entry(change)
        if replaced:
            await self.collection.replace_one(
                {"_id": participant_id}, {"entries": entries}, upsert=True
            )
        self._written[participant_id] = entries  # only once stored
        if len(self._written) > OWNED_INBOXES_KEPT:
            self._written.popitem(last=False)
        return replaced, entries

    def forget_written(self) -> None:
        """The consumer's partitions changed hands: another process may write them now."""
        self._written.clear()

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
        wanted = re.escape(" ".join(query.lower().split())) if query and query.strip() else None
        rows = [
            e
            for e in (await self.entries(participant_id)).values()
            if e["practice_id"] == practice_id
            and bool(e.get("archived")) == archived
            and (wanted is None or re.search(wanted, e.get("search", "")))
        ]
        rows.sort(key=lambda e: (e["activity_at"], e["thread_id"]), reverse=True)
        if after is not None:
            rows = [e for e in rows if (e["activity_at"], e["thread_id"]) < after]
        return [to_view(participant_id, e) for e in rows[:limit]]

    async def unread_threads(self, participant_id: str, practice_id: str) -> int:
        """The red dot: how many of the participant's threads in the practice are unread."""
        return count_unread(await self.entries(participant_id), practice_id)

    async def wait_for(
        self, participant_id: str, thread_id: str, changed_at: datetime, *, timeout: float = 2.0
    ) -> bool:
        """Wait (bounded) until the inbox shows a thread as of `changed_at` or later.

        Lets a participant's own change be visible in their list when their request ends.
        """
        deadline = time.monotonic() + timeout
        delay = 0.002
        while time.monotonic() < deadline:
            doc = await self.collection.find_one({"_id": participant_id})
            entry = (doc or {}).get("entries", {}).get(thread_id)
            if entry is not None and entry["changed_at"] >= changed_at:
                return True
            await asyncio.sleep(delay)
            delay = min(delay * 2, 0.05)
        return False


def count_unread(entries: dict[str, dict[str, Any]], practice_id: str) -> int:
    """Unread threads among inbox entries of one practice."""
    return sum(1 for e in entries.values() if e["practice_id"] == practice_id and e.get("unread"))
