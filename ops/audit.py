"""`msgctl audit verify` and `msgctl audit export`: the audit chains, checked link by link.

Reads the threads database (`THREADS_DATABASE`) by computed `_id`s only: the chain's stored
head in `audit_heads`, then each position in order (a window of lookups at a time), and
the records past the stored head, which is written every few records. Every link
of the chain is checked from the first record to the head, whatever `--since`/`--until`
select, so an exported range is known to belong to an intact chain.
"""

import asyncio
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from ops.settings import OpsSettings
from shared.audit import CHAINED_FIELDS, GENESIS, link_holds, record_id
from shared.mongo import create_mongo_client, find_by_id

# What a line carries: the chained fields and both hashes (as GET /v1/practice/audit).
EXPORTED_FIELDS = (*CHAINED_FIELDS, "prev_hash", "hash")
READ_AHEAD = 64


class ChainBroken(Exception):
    """A record is missing or its links do not hold."""

    def __init__(self, practice_id: str, position: int) -> None:
        super().__init__(f"the audit chain of {practice_id} is broken at position {position}")
        self.practice_id = practice_id
        self.position = position


@dataclass(frozen=True)
class Exported:
    """How an export went: records written, and records verified (the whole chain)."""

    written: int
    verified: int


def exported_line(record: dict[str, Any]) -> dict[str, Any]:
    """One record as exported: its fields in a fixed order, times in UTC ISO 8601."""
    line = {name: record.get(name) for name in EXPORTED_FIELDS}
    if isinstance(line["at"], datetime):
        line["at"] = line["at"].astimezone(UTC).isoformat()
    return line


async def _records(
    database: Any, practice_id: str, last: int
) -> AsyncIterator[tuple[int, dict[str, Any]]]:
    """Positions 1..last in order with their records (empty where one is missing)."""
    for start in range(1, last + 1, READ_AHEAD):
        window = range(start, min(start + READ_AHEAD, last + 1))
        found = await asyncio.gather(
            *(find_by_id(database["audit"], record_id(practice_id, p)) for p in window)
        )
        for position, record in zip(window, found, strict=True):
            yield position, record or {}


def _within(record: dict[str, Any], since: datetime | None, until: datetime | None) -> bool:
    at = record["at"]
    return (since is None or at >= since) and (until is None or at <= until)


async def export(
    settings: OpsSettings,
    practice_id: str,
    *,
    since: datetime | None,
    until: datetime | None,
    write: Callable[[dict[str, Any]], object],
) -> Exported:
    """Verify the practice's whole chain, passing each record in [since, until] to `write`.

    Raises ChainBroken at the first position whose record is missing or does not link, or
    at the head's position when the head names another hash than its record's.
    """
    mongo = create_mongo_client(settings)
    try:
        database = mongo[settings.threads_database]

        def keep(record: dict[str, Any]) -> bool:
            if not _within(record, since, until):
                return False
            write(exported_line(record))
            return True

        return await _walk(database, practice_id, keep)
    finally:
        await mongo.close()


@dataclass(frozen=True)
class Verified:
    """One practice's chain: its length, and the first broken record's `_id` if any."""

    practice_id: str
    records: int
    broken_at: str | None


async def verify(settings: OpsSettings, practice_id: str | None = None) -> list[Verified]:
    """Check each practice's chain (or one practice's) from the first record to the head.

    Listing every practice reads every head: an operations command, never a request path.
    """
    mongo = create_mongo_client(settings)
    try:
        database = mongo[settings.threads_database]
        if practice_id is not None:
            practices = [practice_id]
        else:
            practices = [h["_id"] async for h in database["audit_heads"].find({}, {"_id": 1})]
        results = []
        for practice in sorted(practices):
            try:
                walked = await _walk(database, practice, lambda _record: False)
            except ChainBroken as broken:
                results.append(
                    Verified(practice, broken.position, record_id(practice, broken.position))
                )
            else:
                results.append(Verified(practice, walked.verified, None))
        return results
    finally:
        await mongo.close()


async def _walk(
    database: Any, practice_id: str, keep: Callable[[dict[str, Any]], bool]
) -> Exported:
    """Check every link from the first record to the head; `keep` counts what it writes."""
    head = await find_by_id(database["audit_heads"], practice_id)
    last = int(head["position"]) if head else 0
    prev_hash, written = GENESIS, 0
    async for position, record in _records(database, practice_id, last):
        if not link_holds(record, position, prev_hash):
            raise ChainBroken(practice_id, position)
        prev_hash = record["hash"]
        written += keep(record)
    if head is not None and head.get("hash") != prev_hash:
        raise ChainBroken(practice_id, last)
    position = last  # the stored head is written every few records: the later ones follow
    while later := await find_by_id(database["audit"], record_id(practice_id, position + 1)):
        position += 1
        if not link_holds(later, position, prev_hash):
            raise ChainBroken(practice_id, position)
        prev_hash = later["hash"]
        written += keep(later)
    return Exported(written, position)
