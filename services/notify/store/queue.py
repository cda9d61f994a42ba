"""The work queue: one entry per piece of open work, removed once the work is settled.

An entry is either one delivery (a delayed email, a retry, a push in flight) or one
announcement part being fanned out. It names its owner (the instance running it on an
in-process timer) and a lease: once the lease has run out, the owner is presumed dead
and any instance may take the entry over. Takeovers are made exclusive without atomic
updates (the development server has none): a claim document is inserted whose id every
racer computes alike from the entry's generation, so exactly one insert succeeds.

Every instance keeps a heartbeat document (`notify_instances`, by `_id`): the others
read those few documents now and then to learn which instance died or stopped, and only
then look through the queue for its work. `claimable`, that look, is the one query not
by `_id`: it runs at start, when an instance is gone, and as a slow backstop, never per
event; it reads this collection alone, which holds open work only (at rest, the delayed
emails of unread messages).
"""

import asyncio
from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime
from typing import Any

from services.notify.domain import Part, QueueEntry
from shared.batching import DeleteBatcher, InsertBatcher, insert_each
from shared.clock import utcnow
from shared.mongo import DuplicateKeyError, drop_index

# Entries the sweep takes on per pass: each pass reads the whole queue on the development
# server, so few large passes (a restart may find tens of thousands of email waits).
SWEEP_BATCH = 5_000
UPDATE_CONCURRENCY = 16


def _document(entry: QueueEntry) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "_id": entry.id,
        "kind": entry.kind,
        "owner": entry.owner,
        "due_at": entry.due_at,
        "lease_until": entry.lease_until,
        "gen": entry.gen,
        "created_at": entry.created_at or utcnow(),
    }
    if entry.part is not None:
        doc["part"] = {
            "announcement_id": entry.part.announcement_id,
            "practice_id": entry.part.practice_id,
            "part": entry.part.part,
            "recipients": list(entry.part.recipients),
        }
    return doc


def _entry(doc: dict[str, Any]) -> QueueEntry:
    # Entries written before leases existed have only a due time: they are free to take.
    due_at: datetime = doc.get("due_at") or utcnow()
    part = doc.get("part")
    return QueueEntry(
        id=doc["_id"],
        kind=doc.get("kind", "delivery"),
        owner=doc.get("owner"),
        due_at=due_at,
        lease_until=doc.get("lease_until", due_at),
        gen=doc.get("gen", 0),
        created_at=doc.get("created_at", due_at),
        part=Part(
            part["announcement_id"], part["practice_id"], part["part"], tuple(part["recipients"])
        )
        if part
        else None,
    )


class WorkQueue:
    """The `delivery_queue` entries and their takeover claims."""

    def __init__(self, db: Any) -> None:
        self._queue = db["delivery_queue"]
        self._inserts = InsertBatcher(self._queue)
        self._deletes = DeleteBatcher(self._queue)
        self._claims = db["delivery_claims"]
        self._instances = db["notify_instances"]

    async def drop_legacy_indexes(self) -> None:
        """Earlier versions polled the queue by due time through an index; nothing does now."""
        await drop_index(self._queue, "due")

    async def add(self, entries: list[QueueEntry]) -> set[str]:
        """Insert entries in unordered bulk writes, group-committed with concurrent callers;
        returns the ids that existed already."""
        existing = await insert_each(self._inserts, [_document(e) for e in entries])
        return {str(i) for i in existing}

    async def get(self, entry_id: str) -> QueueEntry | None:
        """An entry by id."""
        doc = await self._queue.find_one({"_id": entry_id})
        return _entry(doc) if doc else None

    async def remove(self, entry_id: str) -> None:
        """The work is settled (group-committed with concurrent removals)."""
        await self._deletes.delete(entry_id)

    async def renew(self, entry_id: str, lease_until: datetime) -> None:
        """The owner is still at it (long fan-outs): extend its lease."""
        await self._queue.update_one({"_id": entry_id}, {"$set": {"lease_until": lease_until}})

    async def reschedule(self, entry_id: str, due_at: datetime, lease_until: datetime) -> None:
        """The owner will try again at `due_at`."""
        await self._queue.update_one(
            {"_id": entry_id}, {"$set": {"due_at": due_at, "lease_until": lease_until}}
        )

    async def release(self, entry_ids: list[str]) -> None:
        """The owner stops: the entries are free to take at once (by `_id`, a few at a time)."""
        now = utcnow()
        slots = asyncio.Semaphore(UPDATE_CONCURRENCY)

        async def one(entry_id: str) -> None:
            async with slots:
                await self._queue.update_one(
                    {"_id": entry_id}, {"$set": {"owner": None, "lease_until": now}}
                )

        await asyncio.gather(*(one(i) for i in entry_ids))

    async def claimable(
        self,
        now: datetime,
        *,
        owned_by: str | None = None,
        dead: Sequence[str] = (),
        after: str | None = None,
    ) -> list[QueueEntry]:
        """Entries whose lease has run out, and every entry of the `dead` instances (at start,
        also those this instance owned before), in `_id` order from past `after`, a batch
        at a time.

        The recovery sweep's query: it reads the whole queue, which holds open work only,
        at start, when an instance is gone and as a slow backstop; nothing on a request or
        consumer path calls it.
        """
        takeable: list[dict[str, Any]] = [
            {"lease_until": {"$lte": now}},
            {"lease_until": {"$exists": False}},
        ]
        if owned_by is not None:
            takeable.append({"owner": owned_by})
        if dead:
            takeable.append({"owner": {"$in": list(dead)}})
        selector: dict[str, Any] = {"$or": takeable}
        if after is not None:
            selector["_id"] = {"$gt": after}
        cursor = self._queue.find(selector, {"part": 0}).sort("_id", 1).limit(SWEEP_BATCH)
        return [_entry(doc) async for doc in cursor]

    async def beat(self, owner: str, alive_until: datetime) -> None:
        """`owner` runs its work at least until then (a stopping instance says: until now)."""
        await self._instances.update_one(
            {"_id": owner}, {"$set": {"alive_until": alive_until}}, upsert=True
        )

    async def gone(self, now: datetime) -> list[str]:
        """Instances whose heartbeat has run out: every one of them, a handful of documents."""
        docs = self._instances.find({}, {"alive_until": 1})
        return [d["_id"] async for d in docs if d.get("alive_until", now) <= now]

    async def forget(self, owner: str) -> None:
        """A gone instance's work is all taken over: stop looking for it."""
        await self._instances.delete_one({"_id": owner})

    async def claim(
        self, entry: QueueEntry, owner: str, lease_until: datetime
    ) -> QueueEntry | None:
        """Take an entry over for `owner`, unless another instance got there first."""
        try:
            await self._claims.insert_one(
                {"_id": f"{entry.id}#{entry.gen}", "owner": owner, "at": utcnow()}
            )
        except DuplicateKeyError:
            return None
        await self._queue.update_one(
            {"_id": entry.id},
            {"$set": {"owner": owner, "lease_until": lease_until, "gen": entry.gen + 1}},
        )
        # A racer that read the entry before an earlier takeover finished could hold a stale
        # generation: only the entry as stored now tells whether this claim is current.
        fresh = await self.get(entry.id)
        if fresh is None or fresh.owner != owner or fresh.gen != entry.gen + 1:
            return None
        return replace(fresh, owner=owner)
