"""Rate limits that hold across every instance of a service, without atomic updates.

A limit allows `count` requests per `period` on average with bursts of up to `burst`: a
token bucket. Its tokens are *slots* on a timeline, one every `interval = period / count`
seconds; slot `s` stands for the moment `s * interval`. At time `t` a key (a user, a
practice) may claim any of the `burst` slots from `floor(t / interval)` on, so a full
bucket holds `burst` claimable slots and one more becomes claimable every interval.

A request claims a slot by inserting a document whose `_id` is `key:slot`. The unique
`_id` index decides every race: two instances (or two requests of one instance) can
never both claim a slot, so together they never exceed the limit, and no document is
ever updated. Over any span of `L` seconds a key gets at most `burst + ceil(L / interval)`
requests; e.g. 120 a minute with bursts of 30 allows 30 at once, then 2 a second.

Each process keeps a hint per key: the next slot it has not yet seen taken. A request
starts at that hint (or at the current slot, if later), so a key served by one process
costs exactly one insert per allowed request; another instance's claims cost a failed
insert each, after which the hint moves past them. A request finding every claimable slot
taken is refused with the seconds until the next one becomes claimable; when the hint
already says so, it costs no database command at all. Refusals store nothing.

Old slots are never read again. Slot documents live in one collection per hour of slot
time (`ratelimit_<name>_<hour>`), and a background task drops the collections of past
hours: cleaning up is a cheap drop, never a query that scans. Instances' clocks should
agree to well within an interval; a clock running ahead only makes its instance stricter
for that key, one running behind may let it claim slots the others already passed.
"""

import asyncio
import logging
import math
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pymongo.errors import DuplicateKeyError

from shared.batching import InsertBatcher
from shared.problems import Problem

log = logging.getLogger(__name__)

HINTS_KEPT = 100_000
COLLECTION_SECONDS = 3600
PREFIX = "ratelimit_"


@dataclass(frozen=True)
class Rate:
    """`count` requests per `period` seconds on average, at most `burst` at once."""

    count: int
    period: float
    burst: int

    @property
    def off(self) -> bool:
        """A count or burst of 0 turns the limit off."""
        return self.count <= 0 or self.burst <= 0

    @property
    def interval(self) -> float:
        """Seconds between two slots."""
        return self.period / self.count


class RateLimited(Problem):
    """A request over its limit: 429 `rate_limited` with `Retry-After` in seconds."""

    def __init__(self, retry_after: int) -> None:
        super().__init__(
            429,
            "rate_limited",
            "Too many requests",
            "Too many requests; retry after the time in the Retry-After header.",
            headers={"Retry-After": str(retry_after)},
        )
        self.retry_after = retry_after


class RateLimiter:
    """One limit (such as sends per user) on one database; `acquire` per request."""

    def __init__(
        self,
        db: Any,
        name: str,
        rate: Rate,
        *,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._db = db
        self._name = name
        self.rate = rate
        self._clock = clock
        self._hints: OrderedDict[str, int] = OrderedDict()
        self._batchers: dict[str, InsertBatcher] = {}
        # A collection must hold at least an interval of slots.
        self._span = max(COLLECTION_SECONDS, math.ceil(rate.interval) if not rate.off else 0)

    async def acquire(self, key: str) -> None:
        """Spend one of the key's slots, or raise RateLimited (storing nothing)."""
        if self.rate.off:
            return
        now = self._clock()
        current = math.floor(now / self.rate.interval)
        last = current + self.rate.burst - 1
        slot = max(self._hints.get(key, current), current)
        while slot <= last:
            self._hint(key, slot + 1)  # reserved before awaiting: local requests never collide
            try:
                await self._batcher(slot).insert({"_id": f"{key}:{slot}"})
                return
            except DuplicateKeyError:  # another instance claimed it
                slot = max(self._hints.get(key, slot + 1), slot + 1)
        claimable_at = (slot - self.rate.burst + 1) * self.rate.interval
        raise RateLimited(max(1, math.ceil(claimable_at - now)))

    def collection_name(self, slot: int) -> str:
        """The collection holding a slot's document: one per hour of slot time."""
        return f"{PREFIX}{self._name}_{self._hour(slot * self.rate.interval)}"

    async def drop_expired(self) -> list[str]:
        """Drop the collections whose slots are all past; the names dropped."""
        keep_from = self._hour(self._clock()) - 1
        prefix = f"{PREFIX}{self._name}_"
        dropped = []
        for name in await self._db.list_collection_names():
            suffix = name.removeprefix(prefix)
            if name.startswith(prefix) and suffix.isdigit() and int(suffix) < keep_from:
                await self._db.drop_collection(name)
                self._batchers.pop(name, None)
                dropped.append(name)
        return dropped

    async def run(self) -> None:
        """Drop past collections now and after every hour, for the life of the process."""
        if self.rate.off:
            return
        while True:
            try:
                await self.drop_expired()
            except Exception as error:  # the next round tries again
                log.warning("rate limit clean-up failed", extra={"error": type(error).__name__})
            await asyncio.sleep(self._span)

    def _hour(self, at: float) -> int:
        return math.floor(at / self._span)

    def _batcher(self, slot: int) -> InsertBatcher:
        name = self.collection_name(slot)
        batcher = self._batchers.get(name)
        if batcher is None:
            # Slots span at most two collections at a time: forget older ones.
            for old in sorted(self._batchers)[:-2]:
                del self._batchers[old]
            batcher = self._batchers[name] = InsertBatcher(self._db[name])
        return batcher

    def _hint(self, key: str, next_slot: int) -> None:
        if next_slot > self._hints.get(key, next_slot - 1):
            self._hints[key] = next_slot
        self._hints.move_to_end(key)
        while len(self._hints) > HINTS_KEPT:
            self._hints.popitem(last=False)
