"""Delivery records: one per (source, recipient, channel), its natural key as `_id`.

The `_id` is the unique index that makes every record exist once, so inserting a batch
of records also tells which deliveries were handled already (the duplicates). Records
are only ever read, updated or deleted by `_id`: the development server (FerretDB)
serves nothing else from an index. Records that are final when first written
(inboxes, nothing to send, and an announcement's pushes) go out in unordered bulk
inserts, group-committed across concurrent callers.
"""

from datetime import datetime
from typing import Any

from services.notify.domain import Delivery, Job
from shared.batching import InsertBatcher, insert_each
from shared.clock import utcnow
from shared.mongo import DuplicateKeyError, drop_index, find_each

# Lookups by `_id` in flight at once when many records are read (recovery, tests).
READ_CONCURRENCY = 32


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


def _document(delivery: Delivery, now: datetime) -> dict[str, Any]:
    job = delivery.job
    return {
        "_id": delivery.id,
        "source": job.source,
        "source_id": job.source_id,
        "practice_id": job.practice_id,
        "recipient_id": job.recipient_id,
        "recipient_role": job.recipient_role,
        "thread_id": job.thread_id,
        "seq": job.seq,
        "job_event_id": job.job_event_id,
        "channel": delivery.channel,
        "status": delivery.status,
        "reason": delivery.reason,
        "attempts": delivery.attempts,
        "due_at": delivery.due_at,
        "first_attempt_at": delivery.first_attempt_at,
        "created_at": now,
        "updated_at": now,
    }


class Deliveries:
    """The `deliveries` records."""

    def __init__(self, db: Any) -> None:
        self._records = db["deliveries"]
        self._batcher = InsertBatcher(self._records)

    async def drop_legacy_indexes(self) -> None:
        """Earlier versions kept a secondary unique index; `_id` alone is the key now."""
        await drop_index(self._records, "one_per_recipient_channel")

    async def add(self, deliveries: list[Delivery]) -> set[str]:
        """Insert records in unordered bulk writes, group-committed with concurrent callers;
        returns the ids that existed already."""
        now = utcnow()
        existing = await insert_each(self._batcher, [_document(d, now) for d in deliveries])
        return {str(i) for i in existing}

    async def add_one(self, delivery: Delivery) -> bool:
        """Insert one record, group-committed with concurrent callers; False if it existed."""
        try:
            await self._batcher.insert(_document(delivery, utcnow()))
        except DuplicateKeyError:
            return False
        return True

    async def get(self, record_id: str) -> Delivery | None:
        """A record by id."""
        doc = await self._records.find_one({"_id": record_id})
        return _delivery(doc) if doc else None

    async def get_many(self, record_ids: list[str]) -> dict[str, Delivery]:
        """Records by id (read by `_id`, a batch per query); missing ones are left out."""
        found = await find_each(self._records, record_ids)
        return {doc["_id"]: _delivery(doc) for doc in found if doc is not None}

    async def settle(self, delivery: Delivery) -> None:
        """Store a record's final outcome (the delivery carries it)."""
        await self._records.update_one(
            {"_id": delivery.id},
            {
                "$set": {
                    "status": delivery.status,
                    "reason": delivery.reason,
                    "first_attempt_at": delivery.first_attempt_at,
                    "updated_at": utcnow(),
                }
            },
        )

    async def reschedule(self, delivery: Delivery, *, error: str) -> None:
        """Store a failed attempt: the count, the first attempt's time and when to try again."""
        await self._records.update_one(
            {"_id": delivery.id},
            {
                "$set": {
                    "status": delivery.status,
                    "attempts": delivery.attempts,
                    "due_at": delivery.due_at,
                    "first_attempt_at": delivery.first_attempt_at,
                    "last_error": error,
                    "updated_at": utcnow(),
                }
            },
        )
