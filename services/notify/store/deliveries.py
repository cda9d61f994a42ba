"""Delivery records: one per (source, recipient, channel), enforced by a unique index.

Open work lives in a small `delivery_queue` (one entry per record not yet settled and
announced), so the scheduler never scans the ever-growing record collection. Attempts are
made exclusive across instances without atomic updates (FerretDB has none): an attempt is
claimed by inserting a claim document whose id every racer computes identically.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from services.notify.domain import Channel, Delivery, Job, delivery_id
from shared.clock import utcnow
from shared.events.notify import DeliveryRecorded
from shared.ids import stable_uuid
from shared.mongo import DuplicateKeyError

FINAL_STATUSES = ("delivered", "sent", "failed", "skipped")
# A queue entry whose record has not appeared after this long was left by a failed open.
ORPHAN_GRACE = timedelta(minutes=5)


def _job(doc: dict[str, Any]) -> Job:
    return Job(
        source=doc["source"],
        source_id=doc["source_id"],
        practice_id=doc["practice_id"],
        recipient_id=doc["recipient_id"],
        recipient_role=doc["recipient_role"],
        thread_id=doc.get("thread_id"),
        seq=doc.get("seq"),
        job_event_id=doc.get("job_event_id", ""),
    )


def _delivery(doc: dict[str, Any]) -> Delivery:
    return Delivery(
        id=doc["_id"],
        job=_job(doc),
        channel=doc["channel"],
        status=doc["status"],
        attempts=doc.get("attempts", 0),
        due_at=doc["due_at"],
        first_attempt_at=doc.get("first_attempt_at"),
        reason=doc.get("reason"),
    )


def _job_fields(job: Job) -> dict[str, Any]:
    return {
        "source": job.source,
        "source_id": job.source_id,
        "practice_id": job.practice_id,
        "recipient_id": job.recipient_id,
        "recipient_role": job.recipient_role,
        "thread_id": job.thread_id,
        "seq": job.seq,
        "job_event_id": job.job_event_id,
    }


def recorded_event(delivery: Delivery) -> DeliveryRecorded:
    """The DeliveryRecorded event of a settled record; its id is stable per outcome."""
    return DeliveryRecorded(
        event_id=stable_uuid(delivery.id, delivery.status, "recorded"),
        source=delivery.job.source,
        source_id=delivery.job.source_id,
        practice_id=delivery.job.practice_id,
        recipient_id=delivery.job.recipient_id,
        channel=delivery.channel,
        status=delivery.status,  # type: ignore[arg-type]
        reason=delivery.reason,
    )


@dataclass(frozen=True)
class QueueEntry:
    """Open work on one record: when to look at it next, and the claim turn reached."""

    delivery_id: str
    due_at: datetime
    turn: int


class Deliveries:
    """The `deliveries` records, their work queue and attempt claims."""

    def __init__(self, db: Any) -> None:
        self._records = db["deliveries"]
        self._queue = db["delivery_queue"]
        self._claims = db["delivery_claims"]

    async def ensure_indexes(self) -> None:
        """One record per (source, recipient, channel); the queue is scanned by due time."""
        await self._records.create_index(
            [("source_id", 1), ("recipient_id", 1), ("channel", 1)],
            unique=True,
            name="one_per_recipient_channel",
        )
        await self._queue.create_index([("due_at", 1)], name="due")

    async def open(self, job: Job, channel: Channel, *, due_at: datetime) -> Delivery | None:
        """Create the record of a delivery still to make; None if it exists (handled already).

        The queue entry comes first: a crash in between leaves an entry the scheduler
        resolves, never a record nobody will look at.
        """
        record_id = delivery_id(job.source_id, job.recipient_id, channel)
        now = utcnow()
        await self._queue.update_one(
            {"_id": record_id}, {"$setOnInsert": {"due_at": due_at, "turn": 0}}, upsert=True
        )
        doc = {
            "_id": record_id,
            **_job_fields(job),
            "channel": channel,
            "status": "pending",
            "attempts": 0,
            "due_at": due_at,
            "created_at": now,
            "updated_at": now,
        }
        try:
            await self._records.insert_one(doc)
        except DuplicateKeyError:
            return None
        return _delivery(doc)

    async def record(
        self, job: Job, channel: Channel, status: str, reason: str | None = None
    ) -> Delivery | None:
        """Create a record that is final at once (inbox, nothing to send); None if it exists."""
        now = utcnow()
        doc = {
            "_id": delivery_id(job.source_id, job.recipient_id, channel),
            **_job_fields(job),
            "channel": channel,
            "status": status,
            "reason": reason,
            "attempts": 0,
            "due_at": now,
            "created_at": now,
            "updated_at": now,
        }
        try:
            await self._records.insert_one(doc)
        except DuplicateKeyError:
            return None
        return _delivery(doc)

    async def get(self, record_id: str) -> Delivery | None:
        """A record by id."""
        doc = await self._records.find_one({"_id": record_id})
        return _delivery(doc) if doc else None

    async def due(self, now: datetime, *, limit: int) -> list[QueueEntry]:
        """Queue entries whose time has come (delayed emails, retries, abandoned attempts)."""
        cursor = self._queue.find({"due_at": {"$lte": now}}).sort("due_at", 1).limit(limit)
        return [QueueEntry(d["_id"], d["due_at"], d.get("turn", 0)) async for d in cursor]

    async def claim(
        self, entry: QueueEntry, attempt: int, owner: str, lease: timedelta
    ) -> datetime | None:
        """Take one attempt of a record for this process (its lease end), unless someone holds it.

        Racers that see the same state insert the same claim id, so exactly one wins; a
        claim whose lease ran out (its holder died) passes the turn to the next claim id.
        """
        turn = entry.turn
        while True:
            claim_id = f"{entry.delivery_id}#{attempt}#{turn}"
            lease_until = utcnow() + lease
            try:
                await self._claims.insert_one(
                    {"_id": claim_id, "owner": owner, "lease_until": lease_until}
                )
                break
            except DuplicateKeyError:
                held = await self._claims.find_one({"_id": claim_id})
                if held is None or held["lease_until"] > utcnow():
                    return None
                turn += 1
        # Keeps other instances' scans off the record while we hold it.
        await self._queue.update_one(
            {"_id": entry.delivery_id}, {"$set": {"due_at": lease_until, "turn": turn + 1}}
        )
        return lease_until

    async def settle(self, delivery: Delivery, status: str, reason: str | None) -> Delivery:
        """Close a record with its final outcome (its queue entry stays until announced)."""
        now = utcnow()
        await self._records.update_one(
            {"_id": delivery.id},
            {
                "$set": {
                    "status": status,
                    "reason": reason,
                    "updated_at": now,
                    "first_attempt_at": delivery.first_attempt_at or now,
                }
            },
        )
        return Delivery(
            id=delivery.id,
            job=delivery.job,
            channel=delivery.channel,
            status=status,
            attempts=delivery.attempts,
            due_at=delivery.due_at,
            first_attempt_at=delivery.first_attempt_at or now,
            reason=reason,
        )

    async def announced(self, delivery: Delivery) -> None:
        """The outcome is published: the record needs no more work."""
        await self._queue.delete_one({"_id": delivery.id})

    async def drop_orphan(self, entry: QueueEntry) -> None:
        """Remove a queue entry whose record never appeared."""
        if entry.due_at < utcnow() - ORPHAN_GRACE:
            await self._queue.delete_one({"_id": entry.delivery_id})

    async def reschedule(
        self, delivery: Delivery, *, due_at: datetime, first_attempt_at: datetime, error: str
    ) -> None:
        """Count a failed attempt and set when to try again."""
        await self._records.update_one(
            {"_id": delivery.id, "attempts": delivery.attempts},
            {
                "$set": {
                    "status": "retrying",
                    "attempts": delivery.attempts + 1,
                    "due_at": due_at,
                    "first_attempt_at": first_attempt_at,
                    "last_error": error,
                    "updated_at": utcnow(),
                }
            },
        )
        await self._queue.update_one({"_id": delivery.id}, {"$set": {"due_at": due_at, "turn": 0}})

    async def by_source(self, source_id: str, channel: Channel | None = None) -> list[Any]:
        """Raw records of one source (for operators and tests)."""
        where: dict[str, Any] = {"source_id": source_id}
        if channel:
            where["channel"] = channel
        return [doc async for doc in self._records.find(where)]
