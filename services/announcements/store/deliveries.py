"""Delivery counts kept, not counted: what the consumer of `messaging.deliveries.v1` writes.

Every read and write is by `_id` (the only lookup the development server, FerretDB,
indexes), and nothing needs an atomic update (FerretDB's are read-modify-write):

- one *reach* document per (announcement, recipient) holds each stage ever reached and
  the statuses seen per channel;
- one *counter* document per (announcement, Kafka partition) holds that partition's
  counts and the highest offset they include. Only the consumer owning the partition
  writes it, and all outcomes of a recipient share a partition (events are keyed by
  announcement), so reading then writing is safe.

A batch is applied in three steps: read its reaches and counters; write the counters,
counting only outcomes past each counter's offset; write the reaches. A crash after the
counters makes the redelivered outcomes skip counting but still write their reaches; a
crash before them redoes everything. Stats then read the counters of every partition.

The partition's owner also keeps the reaches it wrote in memory, per counter. While a
counter still holds the offset this process last wrote to it, no one else has written
its reaches since (another owner would have moved it), so they need no reading again; and
reaches of a counter this process saw begin exist nowhere else, so new ones are inserted
in one command. A fan-out's second outcome per recipient then costs one write, not four
commands.
"""

import asyncio
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any

from pymongo.errors import BulkWriteError

from services.announcements.domain import Counter, Outcome, Reach, Tally, count_outcomes
from shared.clock import utcnow
from shared.mongo import update_each

# Lookups by `_id` in flight at once while reading a batch.
_CONCURRENT_LOOKUPS = 32
# Reaches kept in memory at most (the oldest counters' are forgotten first).
KNOWN_REACHES_LIMIT = 100_000


@dataclass
class _Known:
    """What this process wrote for one counter: its offset, and the reaches of it."""

    offset: int
    # True when this process saw the counter begin: every reach of it is in `reaches`.
    complete: bool
    reaches: dict[str, Reach] = field(default_factory=dict)


def counter_id(announcement_id: str, partition: int) -> str:
    """The counter document of an announcement's outcomes in one partition."""
    return f"{announcement_id}:p{partition}"


def reach_id(announcement_id: str, recipient_id: str) -> str:
    """The reach document of one recipient of an announcement."""
    return f"{announcement_id}:{recipient_id}"


async def _find_each(
    collection: Any, ids: list[str], projection: dict[str, int] | None = None
) -> list[dict[str, Any] | None]:
    """The documents with these ids, in order (None where missing): one `_id` lookup each.

    The development server answers only `{_id: x}` from its index (`$in` reads the whole
    collection), so the lookups run concurrently, a bounded number at a time.
    """
    gate = asyncio.Semaphore(_CONCURRENT_LOOKUPS)

    async def one(_id: str) -> dict[str, Any] | None:
        async with gate:
            found: dict[str, Any] | None = await collection.find_one({"_id": _id}, projection)
            return found

    return list(await asyncio.gather(*(one(i) for i in ids)))


class DeliveryStats:
    """Each announcement's delivery counts, per recipient reached and per partition."""

    def __init__(self, db: Any, *, partitions: int) -> None:
        self._reaches = db["delivery_reaches"]
        self._counters = db["delivery_counters"]
        self._partitions = partitions
        self._known: OrderedDict[tuple[str, int], _Known] = OrderedDict()

    @property
    def partitions(self) -> int:
        """How many partitions' counters a stats read sums."""
        return self._partitions

    def observe_partitions(self, count: int) -> None:
        """The topic has (at least) this many partitions: read their counters too."""
        self._partitions = max(self._partitions, count)

    async def ensure_indexes(self) -> None:
        """Nothing: both collections are read and written by `_id` only."""

    async def apply(self, outcomes: list[Outcome]) -> None:
        """Count a batch of outcomes exactly once, however often it is delivered."""
        ordered = sorted(outcomes, key=lambda o: (o.partition, o.offset))
        if not ordered:
            return
        self.observe_partitions(max(o.partition for o in ordered) + 1)
        counters = await self._read_counters({o.counter_key for o in ordered})
        known = {key: self._still_known(key, counter) for key, counter in counters.items()}
        reaches, stored = await self._reaches_of(ordered, known)
        counted = count_outcomes(ordered, counters, reaches)
        await self._write_counters(counted.counters)
        counter_of = {o.reach_key: o.counter_key for o in ordered}
        fresh = [
            key for key in counted.reaches if key not in stored and known[counter_of[key]].complete
        ]
        await self._write_reaches(_statuses(ordered), counted.reaches, fresh)
        for (announcement_id, partition), mine in known.items():
            mine.offset = counters[(announcement_id, partition)].offset
            if (announcement_id, partition) in counted.counters:
                mine.offset = counted.counters[(announcement_id, partition)].offset
        for o in ordered:
            known[o.counter_key].reaches[o.recipient_id] = counted.reaches[o.reach_key]
        self._forget_oldest()

    def _still_known(self, key: tuple[str, int], counter: Counter) -> _Known:
        """This process's reaches of a counter, if nobody else wrote the counter since."""
        mine = self._known.pop(key, None)
        if mine is None or mine.offset != counter.offset:
            # A counter that does not exist yet has no reaches anywhere: we see it begin.
            mine = _Known(counter.offset, complete=counter.offset < 0)
        self._known[key] = mine  # the most recently used last
        return mine

    async def _reaches_of(
        self, ordered: list[Outcome], known: dict[tuple[str, int], _Known]
    ) -> tuple[dict[tuple[str, str], Reach], set[tuple[str, str]]]:
        """The batch's reaches before it, and which of them are stored already."""
        reaches: dict[tuple[str, str], Reach] = {}
        unknown: set[tuple[str, str]] = set()
        for o in ordered:
            mine = known[o.counter_key]
            if o.recipient_id in mine.reaches:
                reaches[o.reach_key] = mine.reaches[o.recipient_id]
            elif not mine.complete:
                unknown.add(o.reach_key)
        read = await self._read_reaches(unknown) if unknown else {}
        reaches.update(read)
        return reaches, set(reaches)

    def _forget_oldest(self) -> None:
        total = sum(len(k.reaches) for k in self._known.values())
        while total > KNOWN_REACHES_LIMIT and len(self._known) > 1:
            _, dropped = self._known.popitem(last=False)
            total -= len(dropped.reaches)

    async def tally(self, announcement_id: str) -> Tally:
        """The announcement's counts: the sum of its partitions' counters."""
        ids = [counter_id(announcement_id, p) for p in range(self._partitions)]
        docs = await _find_each(self._counters, ids)
        total = Tally()
        for doc in docs:
            if doc is not None:
                total = total + _counter(doc).tally
        return total

    async def _read_counters(self, keys: set[tuple[str, int]]) -> dict[tuple[str, int], Counter]:
        ordered = sorted(keys)
        docs = await _find_each(self._counters, [counter_id(*k) for k in ordered])
        return {k: _counter(d) if d else Counter() for k, d in zip(ordered, docs, strict=True)}

    async def _read_reaches(self, keys: set[tuple[str, str]]) -> dict[tuple[str, str], Reach]:
        ordered = sorted(keys)
        docs = await _find_each(
            self._reaches,
            [reach_id(*k) for k in ordered],
            {"delivered": 1, "sent": 1, "failed": 1},
        )
        return {
            k: Reach(bool(d.get("delivered")), bool(d.get("sent")), bool(d.get("failed")))
            for k, d in zip(ordered, docs, strict=True)
            if d is not None
        }

    async def _write_counters(self, counters: dict[tuple[str, int], Counter]) -> None:
        if not counters:
            return
        now = utcnow()
        await update_each(
            self._counters,
            [
                (
                    {"_id": counter_id(announcement_id, partition)},
                    {
                        "$set": {
                            "announcement_id": announcement_id,
                            "partition": partition,
                            "delivered": c.tally.delivered,
                            "notified": c.tally.notified,
                            "failed": c.tally.failed,
                            "offset": c.offset,
                            "updated_at": now,
                        }
                    },
                )
                for (announcement_id, partition), c in counters.items()
            ],
            upsert=True,
        )

    async def _write_reaches(
        self,
        updates: dict[tuple[str, str], dict[str, Any]],
        reaches: dict[tuple[str, str], Reach],
        fresh: list[tuple[str, str]],
    ) -> None:
        """Insert the reaches no one has stored yet in one command; update the others."""
        now = utcnow()

        def doc(key: tuple[str, str]) -> dict[str, Any]:
            announcement_id, recipient_id = key
            reach = reaches[key]
            return {
                "announcement_id": announcement_id,
                "recipient_id": recipient_id,
                "delivered": reach.delivered,
                "sent": reach.sent,
                "failed": reach.failed,
                "updated_at": now,
            }

        taken: set[tuple[str, str]] = set()
        if fresh:
            new = [
                {"_id": reach_id(*key), **_unflattened(updates[key]), **doc(key)} for key in fresh
            ]
            try:
                await self._reaches.insert_many(new, ordered=False)
            except BulkWriteError as error:  # stored meanwhile after all: update those
                failed = {e["index"] for e in error.details.get("writeErrors", [])}
                taken = {key for i, key in enumerate(fresh) if i in failed}
        inserted = set(fresh) - taken
        await update_each(
            self._reaches,
            [
                ({"_id": reach_id(*key)}, {"$set": {**fields, **doc(key)}})
                for key, fields in updates.items()
                if key not in inserted
            ],
            upsert=True,
        )


def _statuses(ordered: list[Outcome]) -> dict[tuple[str, str], dict[str, Any]]:
    """Per recipient reached, the fields recording each channel's statuses seen."""
    fields: dict[tuple[str, str], dict[str, Any]] = {}
    for o in ordered:
        found = fields.setdefault(o.reach_key, {"practice_id": o.practice_id})
        found[f"channels.{o.channel}.{o.status}"] = True
        found[f"channels.{o.channel}.last_status"] = o.status
    return fields


def _unflattened(fields: dict[str, Any]) -> dict[str, Any]:
    """Dotted `$set` fields as the nested document an insert writes."""
    nested: dict[str, Any] = {}
    for path, value in fields.items():
        *parents, leaf = path.split(".")
        level = nested
        for name in parents:
            level = level.setdefault(name, {})
        level[leaf] = value
    return nested


def _counter(doc: dict[str, Any]) -> Counter:
    return Counter(
        Tally(int(doc["delivered"]), int(doc["notified"]), int(doc["failed"])),
        int(doc["offset"]),
    )
