"""Delivery counts kept, not counted: what the consumer of `messaging.deliveries.v1` writes.

Every read and write is by `_id` (the only lookup the development server, FerretDB,
indexes), and nothing needs an atomic update (FerretDB's are read-modify-write):

- one *stage* document per (announcement, recipient, stage reached): delivered, sent or
  failed. Stages are only ever reached, so they are inserted, never updated: a batch's
  new stages go out in one unordered insert, a duplicate meaning "reached already";
- one *counter* document per (announcement, Kafka partition) holds that partition's
  counts and the highest offset they include. Only the consumer owning the partition
  writes it, and all outcomes of a recipient share a partition (events are keyed by
  announcement), so reading then writing is safe.

A batch is applied in three steps: know its recipients' stages and its counters; write
the counters, counting only outcomes past each counter's offset; insert the new stages.
A crash after the counters makes the redelivered outcomes skip counting but still insert
their stages; a crash before them redoes everything. Stats read every partition's counter.

The partition's owner keeps the stages it wrote in memory, per counter. While a counter
still holds the offset this process last wrote to it, no one else has written its stages
since (another owner would have moved it), so they are not read again; stages of a
counter this process saw begin exist nowhere else. A fan-out's batch then costs a counter
read and write and one insert, whatever its size.
"""

from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any

from pymongo.errors import BulkWriteError

from services.announcements.domain import Counter, Outcome, Reach, Tally, count_outcomes
from shared.clock import utcnow
from shared.mongo import DUPLICATE_KEY, find_each, update_each

# Recipients' reaches kept in memory at most (the oldest counters' are forgotten first).
KNOWN_REACHES_LIMIT = 100_000


@dataclass
class _Known:
    """What this process wrote for one counter: its offset, and its recipients' reaches."""

    offset: int
    # True when this process saw the counter begin: every stage of it is in `reaches`.
    complete: bool
    reaches: dict[str, Reach] = field(default_factory=dict)


def counter_id(announcement_id: str, partition: int) -> str:
    """The counter document of an announcement's outcomes in one partition."""
    return f"{announcement_id}:p{partition}"


STAGES = ("delivered", "sent", "failed")


def stage_id(announcement_id: str, recipient_id: str, stage: str) -> str:
    """The document of one stage an announcement reached with one recipient."""
    return f"{announcement_id}:{recipient_id}:{stage}"


class DeliveryStats:
    """Each announcement's delivery counts, per recipient reached and per partition."""

    def __init__(self, db: Any, *, partitions: int) -> None:
        self._stages = db["delivery_stages"]
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
        reaches = await self._reaches_of(ordered, known)
        counted = count_outcomes(ordered, counters, reaches)
        await self._write_counters(counted.counters)
        await self._insert_stages(ordered, reaches)
        for key, mine in known.items():
            mine.offset = counted.counters.get(key, counters[key]).offset
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
    ) -> dict[tuple[str, str], Reach]:
        """The batch's recipients' reaches before it (known here, else read)."""
        reaches: dict[tuple[str, str], Reach] = {}
        unknown: set[tuple[str, str]] = set()
        for o in ordered:
            mine = known[o.counter_key]
            if o.recipient_id in mine.reaches:
                reaches[o.reach_key] = mine.reaches[o.recipient_id]
            elif not mine.complete:
                unknown.add(o.reach_key)
        reaches.update(await self._read_reaches(unknown) if unknown else {})
        return reaches

    def _forget_oldest(self) -> None:
        total = sum(len(k.reaches) for k in self._known.values())
        while total > KNOWN_REACHES_LIMIT and len(self._known) > 1:
            _, dropped = self._known.popitem(last=False)
            total -= len(dropped.reaches)

    async def tally(self, announcement_id: str) -> Tally:
        """The announcement's counts: the sum of its partitions' counters."""
        ids = [counter_id(announcement_id, p) for p in range(self._partitions)]
        docs = await find_each(self._counters, ids)
        total = Tally()
        for doc in docs:
            if doc is not None:
                total = total + _counter(doc).tally
        return total

    async def _read_counters(self, keys: set[tuple[str, int]]) -> dict[tuple[str, int], Counter]:
        ordered = sorted(keys)
        docs = await find_each(self._counters, [counter_id(*k) for k in ordered])
        return {k: _counter(d) if d else Counter() for k, d in zip(ordered, docs, strict=True)}

    async def _read_reaches(self, keys: set[tuple[str, str]]) -> dict[tuple[str, str], Reach]:
        ordered = sorted(keys)
        ids = [stage_id(*key, stage) for key in ordered for stage in STAGES]
        found = {doc["_id"] for doc in await find_each(self._stages, ids, {"_id": 1}) if doc}
        reaches = {}
        for key in ordered:
            reached = [stage_id(*key, stage) in found for stage in STAGES]
            if any(reached):
                reaches[key] = Reach(*reached)
        return reaches

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

    async def _insert_stages(
        self,
        ordered: list[Outcome],
        before: dict[tuple[str, str], Reach],
    ) -> None:
        """Insert the stages the batch reached, in one unordered insert (duplicates: reached
        before, by a run that stopped before its counters moved on)."""
        first: dict[tuple[tuple[str, str], str], Outcome] = {}  # who reached each new stage
        reaches = dict(before)
        for o in ordered:
            was = reaches.get(o.reach_key, Reach())
            now = reaches[o.reach_key] = was.after(o.channel, o.status)
            for stage, reached, had in zip(STAGES, _stages(now), _stages(was), strict=True):
                if reached and not had:
                    first.setdefault((o.reach_key, stage), o)
        if not first:
            return
        at = utcnow()
        docs = [
            {
                "_id": stage_id(o.announcement_id, o.recipient_id, stage),
                "announcement_id": o.announcement_id,
                "recipient_id": o.recipient_id,
                "practice_id": o.practice_id,
                "stage": stage,
                "channel": o.channel,
                "status": o.status,
                "partition": o.partition,
                "offset": o.offset,
                "at": at,
            }
            for (_, stage), o in first.items()
        ]
        try:
            await self._stages.insert_many(docs, ordered=False)
        except BulkWriteError as error:
            if any(e.get("code") != DUPLICATE_KEY for e in error.details.get("writeErrors", [])):
                raise


def _stages(reach: Reach) -> tuple[bool, bool, bool]:
    return (reach.delivered, reach.sent, reach.failed)


def _counter(doc: dict[str, Any]) -> Counter:
    return Counter(
        Tally(int(doc["delivered"]), int(doc["notified"]), int(doc["failed"])),
        int(doc["offset"]),
    )
