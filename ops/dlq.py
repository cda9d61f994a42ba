"""Dead-letter topics: count, inspect (headers only, never bodies), replay idempotently.

A replay publishes a dead-lettered record again to the topic it came from (its
`dlq_topic` header), with its key, value and event headers, and records the replay in
the CLI's database under the record's DLQ coordinates. A record replayed before is skipped,
so replaying twice publishes once. Consumers deduplicate by `event_id`, so a replay racing
another one is harmless too.
"""

import contextlib
import dataclasses
import hashlib
from dataclasses import dataclass
from typing import Any

from pymongo.errors import DuplicateKeyError

from ops.kafka import consumer, offsets, partitions, producer, read_topic
from ops.settings import OpsSettings
from shared.clock import utcnow
from shared.mongo import create_mongo_client
from shared.topics import DLQ_SUFFIX, TOPICS, dlq

# Headers shown by `show`: what the DeadLetterMiddleware and CloudEvents put there. Any
# other header (a producer's own) is not shown: it might carry data.
SHOWN_HEADERS = (
    "ce_type",
    "ce_id",
    "ce_source",
    "ce_time",
    "correlation_id",
    "dlq_error",
    "dlq_error_type",
    "dlq_error_fields",
    "dlq_topic",
    "dlq_partition",
    "dlq_offset",
    "dlq_attempts",
)
REPLAYED_FROM = "dlq_replayed_from"


@dataclass(frozen=True)
class DeadLetter:
    """A dead-lettered record as `show` prints it: coordinates and chosen headers only."""

    dlq_topic: str
    partition: int
    offset: int
    timestamp_ms: int
    key_digest: str
    headers: dict[str, str]
    replayed: bool = False

    @property
    def ledger_id(self) -> str:
        """The record's coordinates: its id in the replay ledger."""
        return f"{self.dlq_topic}:{self.partition}:{self.offset}"


@dataclass(frozen=True)
class DlqCount:
    """How many records a DLQ holds and how many of them were replayed."""

    topic: str
    records: int
    replayed: int


@dataclass(frozen=True)
class ReplayResult:
    """What a replay did."""

    replayed: list[str]
    skipped: list[str]


def dlq_topic(name: str) -> str:
    """A DLQ name from a source topic or a DLQ name; refuses unknown topics."""
    topic = name if name.endswith(DLQ_SUFFIX) else dlq(name)
    if topic not in {dlq(t.name) for t in TOPICS}:
        raise ValueError(f"not a dead-letter topic of this system: {name}")
    return topic


def _ledger(settings: OpsSettings) -> tuple[Any, Any]:
    mongo = create_mongo_client(settings)
    return mongo, mongo[settings.ops_database]["dlq_replays"]


async def counts(settings: OpsSettings) -> list[DlqCount]:
    """Records held and replayed, per DLQ topic."""
    mongo, ledger = _ledger(settings)
    rows = []
    try:
        async with consumer(settings) as reader:
            for spec in TOPICS:
                topic = dlq(spec.name)
                tps = await partitions(reader, topic)
                first, end = await offsets(reader, tps)
                held = sum(end[tp] - first[tp] for tp in tps)
                replayed = await ledger.count_documents({"dlq_topic": topic}) if held else 0
                rows.append(DlqCount(topic, held, replayed))
    finally:
        await mongo.close()
    return rows


def _headers(record: Any) -> dict[str, str]:
    found = {}
    for key, value in record.headers or ():
        if key in SHOWN_HEADERS:
            found[key] = bytes(value).decode("utf-8", "replace")
    return found


def _digest(key: bytes | None) -> str:
    """A short digest of the key: tells records apart without showing an id."""
    return hashlib.sha256(key).hexdigest()[:12] if key else "-"


async def _records(settings: OpsSettings, topic: str, wanted: set[int] | None) -> list[Any]:
    async with consumer(settings) as reader:
        records = await read_topic(reader, topic)
    return [r for r in records if wanted is None or r.offset in wanted]


async def show(
    settings: OpsSettings, name: str, *, offsets_: set[int] | None = None, limit: int = 50
) -> list[DeadLetter]:
    """The newest `limit` records (or those at the given offsets), headers only."""
    topic = dlq_topic(name)
    records = (await _records(settings, topic, offsets_))[-limit:]
    mongo, ledger = _ledger(settings)
    try:
        letters = [
            DeadLetter(topic, r.partition, r.offset, r.timestamp, _digest(r.key), _headers(r))
            for r in records
        ]
        ids = [d.ledger_id for d in letters]
        done = {doc["_id"] async for doc in ledger.find({"_id": {"$in": ids}})} if ids else set()
    finally:
        await mongo.close()
    return [dataclasses.replace(d, replayed=d.ledger_id in done) for d in letters]


async def replay(
    settings: OpsSettings,
    name: str,
    *,
    offsets_: set[int] | None = None,
    reason: str | None = None,
) -> ReplayResult:
    """Publish dead-lettered records again to their source topic, each at most once."""
    topic = dlq_topic(name)
    records = await _records(settings, topic, offsets_)
    mongo, ledger = _ledger(settings)
    result = ReplayResult([], [])
    try:
        async with producer(settings) as sender:
            for record in records:
                headers = dict(_raw_headers(record))
                if reason and headers.get("dlq_error", b"").decode() != reason:
                    continue
                ledger_id = f"{topic}:{record.partition}:{record.offset}"
                if await ledger.find_one({"_id": ledger_id}) is not None:
                    result.skipped.append(ledger_id)
                    continue
                source = headers.get("dlq_topic", b"").decode() or topic.removesuffix(DLQ_SUFFIX)
                kept = [(k, v) for k, v in headers.items() if not k.startswith("dlq_")]
                kept.append((REPLAYED_FROM, ledger_id.encode()))
                await sender.send_and_wait(source, record.value, key=record.key, headers=kept)
                # Recorded after the publish: a crash in between replays it again, which the
                # consumers' deduplication absorbs; never the other way round (a lost record).
                with contextlib.suppress(DuplicateKeyError):  # a concurrent replay recorded it
                    await ledger.insert_one(
                        {
                            "_id": ledger_id,
                            "dlq_topic": topic,
                            "source_topic": source,
                            "at": utcnow(),
                        }
                    )
                result.replayed.append(ledger_id)
    finally:
        await mongo.close()
    return result


def _raw_headers(record: Any) -> list[tuple[str, bytes]]:
    return [(k, bytes(v)) for k, v in (record.headers or ())]
