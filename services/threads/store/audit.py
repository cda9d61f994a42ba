"""The audit trail's storage: one hash chain per practice (never message text).

Records sit at `_id = practice:position`, so a page of the trail is read by computed ids
and a gap is visible. The stored head (`audit_heads`) is written every `HEAD_EVERY`
records; the records after it are found by reading the next positions. Only the consumer
owning a practice's partition of the audit topic appends (one writer per chain: no fork,
no atomic update needed); a unique index on the event id drops a record published twice.
"""

from datetime import UTC, datetime
from typing import Any

from pymongo.errors import BulkWriteError

from shared.audit import GENESIS, record_hash, record_id
from shared.events.audit import AccessRecorded
from shared.mongo import DUPLICATE_KEY, DuplicateKeyError, find_by_id

# Chain heads the appending consumer keeps after writing them (its next append reads none).
WRITTEN_HEADS_KEPT = 10_000
# The head is stored when an append passes a multiple of this: readers go on from it record
# by record, so a record costs one write instead of two.
HEAD_EVERY = 16


class AuditChain:
    """The audit records and each practice's chain head."""

    def __init__(self, db: Any) -> None:
        self.records = db["audit"]
        self.heads = db["audit_heads"]
        self._written: dict[str, tuple[int, str]] = {}

    async def ensure_indexes(self) -> None:
        """A record published twice is chained once."""
        await self.records.create_index("event_id", unique=True, name="once_per_event")

    async def head(self, practice_id: str) -> tuple[int, str]:
        """The position and hash of the practice's latest record (0 and genesis if none)."""
        doc = await find_by_id(self.heads, practice_id)
        position, hash_ = (int(doc["position"]), str(doc["hash"])) if doc else (0, GENESIS)
        while (record := await self.at(practice_id, position + 1)) is not None:
            position, hash_ = int(record["position"]), str(record["hash"])
        return position, hash_

    async def append(self, practice_id: str, events: list[AccessRecorded]) -> int:
        """Chain a practice's new records in order; returns the new head position.

        Only the consumer owning the practice's partition appends, so the head it wrote
        last is the stored one until its partitions change (`forget_written`).
        """
        written = self._written.pop(practice_id, None)
        position, prev_hash = written or await self.head(practice_id)
        started = position
        pending = list(events)
        while pending:
            records = _chained(pending, position, prev_hash)
            try:
                # One ordered write for the batch: it stops at the first collision.
                await self.records.insert_many(records, ordered=True)
            except BulkWriteError as error:
                collided = _first_duplicate(error)
                if collided > 0:
                    position, prev_hash = (
                        records[collided - 1]["position"],
                        records[collided - 1]["hash"],
                    )
                record = records[collided]
                existing = await find_by_id(self.records, record["_id"])
                if existing is not None and existing["event_id"] == record["event_id"]:
                    position, prev_hash = existing["position"], existing["hash"]  # redelivered
                elif existing is not None:
                    # The position holds another record: a second writer, which must not be.
                    raise DuplicateKeyError(f"audit position {record['_id']} is taken") from error
                # (else this event is chained already, elsewhere: once is enough)
                pending = pending[collided + 1 :]
                continue
            position, prev_hash = records[-1]["position"], records[-1]["hash"]
            pending = []
        if started == 0 or position // HEAD_EVERY != started // HEAD_EVERY:
            await self.heads.replace_one(
                {"_id": practice_id}, {"position": position, "hash": prev_hash}, upsert=True
            )
        if len(self._written) >= WRITTEN_HEADS_KEPT:
            self._written.clear()
        self._written[practice_id] = (position, prev_hash)  # only once stored
        return position

    def forget_written(self) -> None:
        """The consumer's partitions changed hands: another process may append now."""
        self._written.clear()

    async def at(self, practice_id: str, position: int) -> dict[str, Any] | None:
        """The record at a position."""
        return await find_by_id(self.records, record_id(practice_id, position))

    async def first_at_or_after(self, practice_id: str, since: datetime, last: int) -> int:
        """The first position whose record is at or after `since` (binary search by `_id`)."""
        low, high = 1, last + 1
        while low < high:
            middle = (low + high) // 2
            record = await self.at(practice_id, middle)
            if record is not None and record["at"] < since:
                low = middle + 1
            else:
                high = middle
        return low


def _chained(events: list[AccessRecorded], position: int, prev_hash: str) -> list[dict[str, Any]]:
    """The records of events appended in order after (position, prev_hash)."""
    records = []
    for event in events:
        record = _record(event, position + 1, prev_hash)
        records.append(record)
        position, prev_hash = record["position"], record["hash"]
    return records


def _first_duplicate(error: BulkWriteError) -> int:
    """The index of the record an ordered insert stopped at (a duplicate key), or re-raise."""
    errors = error.details.get("writeErrors", [])
    if not errors or errors[0].get("code") != DUPLICATE_KEY:
        raise error
    return int(errors[0]["index"])


def _stored_precision(at: datetime) -> datetime:
    """UTC at millisecond precision, as the database keeps it: the hash must match later."""
    at = at.astimezone(UTC)
    return at.replace(microsecond=at.microsecond // 1000 * 1000)


def _record(event: AccessRecorded, position: int, prev_hash: str) -> dict[str, Any]:
    record: dict[str, Any] = {
        "_id": record_id(event.practice_id, position),
        "position": position,
        "event_id": str(event.event_id),
        "at": _stored_precision(event.occurred_at),
        "practice_id": event.practice_id,
        "actor_id": event.actor_id,
        "actor_role": event.actor_role,
        "action": event.action,
        "resource_type": event.resource_type,
        "resource_id": event.resource_id,
        "thread_id": event.thread_id,
        "outcome": event.outcome,
        "request_id": event.request_id,
        "service": event.service,
        "prev_hash": prev_hash,
    }
    record["hash"] = record_hash(record, prev_hash)
    return record
