"""Read marks and their count, kept by `_id` without atomic updates.

A mark's `_id` derives from (announcement, client), so marking twice inserts nothing. The
first insert of a mark then claims the next free *slot* of the announcement: slot ids run
1, 2, 3, ... without gaps (each claim inserts at the first free one, the unique `_id`
settling races), so the count of readers is the highest slot. A small *top* document
remembers a recent highest slot; a count reads it and probes the slots past it.

The mark and its slot are two writes: the use case records an intent naming the mark before
it is inserted, so a crash between them is finished by the recovery, which first looks for
a slot the client already holds past where its claim began.
"""

from typing import Any

from shared.clock import utcnow
from shared.mongo import DuplicateKeyError, drop_index, find_each, upsert


def mark_id(announcement_id: str, client_id: str) -> str:
    """The read mark of one client on one announcement."""
    return f"{announcement_id}:{client_id}"


def slot_id(announcement_id: str, slot: int) -> str:
    """One reader's slot in an announcement's count."""
    return f"{announcement_id}:{slot}"


def top_id(announcement_id: str) -> str:
    """Where a recent highest slot of the announcement is remembered."""
    return f"{announcement_id}:top"


class ReadMarks:
    """Which client read which announcement, and how many did: one mark and one slot each."""

    def __init__(self, db: Any) -> None:
        self._reads = db["read_marks"]
        self._slots = db["read_slots"]

    async def ensure_indexes(self) -> None:
        """None: a mark's `_id` is its (announcement, client), unique and looked up by `_id`.
        The indexes earlier versions kept go (every mark maintained them)."""
        for name in ("announcement_client", "client"):
            await drop_index(self._reads, name)

    async def claim_start(self, announcement_id: str) -> int:
        """Where a new reader's claim of a slot begins: a recent highest slot."""
        return await self._top(announcement_id)

    async def insert_mark(self, announcement_id: str, client_id: str, claim_from: int) -> bool:
        """Record a read; False when the client had marked it already (nothing written)."""
        try:
            await self._reads.insert_one(
                {
                    "_id": mark_id(announcement_id, client_id),
                    "announcement_id": announcement_id,
                    "client_id": client_id,
                    "read_at": utcnow(),
                    "claim_from": claim_from,
                }
            )
        except DuplicateKeyError:
            return False
        return True

    async def claim_from(self, announcement_id: str, client_id: str) -> int | None:
        """Where the client's mark began claiming its slot, if the mark is stored."""
        mark = await self._reads.find_one({"_id": mark_id(announcement_id, client_id)})
        return int(mark["claim_from"]) if mark is not None and "claim_from" in mark else None

    async def read_among(self, client_id: str, announcement_ids: list[str]) -> set[str]:
        """Those of the announcements the client has read (their marks, read by `_id`)."""
        marks = await find_each(self._reads, [mark_id(a, client_id) for a in announcement_ids])
        return {a for a, mark in zip(announcement_ids, marks, strict=True) if mark is not None}

    async def count(self, announcement_id: str) -> int:
        """How many recipients have read the announcement: the highest slot taken."""
        top = await self._top(announcement_id)
        while await self._slots.find_one({"_id": slot_id(announcement_id, top + 1)}, {"_id": 1}):
            top += 1
        return top

    async def claim(
        self, announcement_id: str, client_id: str, start: int, *, recovering: bool = False
    ) -> int:
        """Take the first free slot past `start`, or, when recovering, the client's own."""
        slot = start + 1
        while True:
            try:
                await self._slots.insert_one(
                    {"_id": slot_id(announcement_id, slot), "client_id": client_id}
                )
                break
            except DuplicateKeyError:
                if recovering:
                    taken = await self._slots.find_one({"_id": slot_id(announcement_id, slot)})
                    if taken is not None and taken.get("client_id") == client_id:
                        return slot
                slot += 1
        # A hint only (a lost update leaves it lower, and readers probe past it).
        await upsert(self._slots, {"_id": top_id(announcement_id)}, {"$max": {"slot": slot}})
        return slot

    async def _top(self, announcement_id: str) -> int:
        doc = await self._slots.find_one({"_id": top_id(announcement_id)})
        return int(doc["slot"]) if doc else 0
