"""Store then publish, without losing the publish and without polling.

Before a change, a use case records an *intent*: a small document in its service's
`intents` collection naming what is about to change. After the change it publishes the
events and the intent is deleted (in batches, off the request path). So the intents
collection holds only work in flight and is empty at rest.

Changes that follow each other closely on one key (the messages of a busy thread) may
*share* an intent: a change joins this process's intent in flight (or just finished) when
recovering that intent would publish the change too, and the intent is deleted once every
change that joined it is settled and it has lingered a moment unused. A burst of sends then
writes and deletes one intent instead of one per send.

A process that died between change and publish, or a broker that did not answer, leaves
its intent behind. Such intents are recovered by re-deriving the events from the *current*
state of what they name: right away by an in-process retry with backoff, and by a sweep at
start and every few minutes (a query over the small intents collection, never over
history). Events carry ids stable per revision, so publishing twice is harmless, and a
recovery never publishes a stale revision after a newer one.
"""

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from aiokafka.errors import KafkaTimeoutError

from shared.batching import InsertBatcher
from shared.clock import utcnow
from shared.events.base import Event
from shared.ids import new_id
from shared.kafka import EventPublisher, is_transient

log = logging.getLogger(__name__)

Document = Mapping[str, Any]
# Events derived from one stored document.
Derive = Callable[[Document], Awaitable[list[Event]]]
# Events of the current state of what an intent names (its `ref`); empty if it is gone.
Recover = Callable[[Document], Awaitable[list[Event]]]
# Whether recovering the first `ref` (after the second's change was stored) publishes the
# second's change too. By default only the same `ref` does: its current state covers it.
Covers = Callable[[Document, Document], bool]

DELETE_BATCH = 500
PARK_AFTER_TRIES = 5
MAX_RETRY_DELAY = 30.0
# A shared intent is joined for at most this long after it was written (well inside the
# sweep's grace period: a sweep skips what this process holds, but another instance's
# sweep does not), and kept this long after its last change settled, for the next to join.
SHARE_FOR = 1.0
LINGER = 0.5


def unavailable(error: BaseException) -> bool:
    """The broker or the database did not answer: worth waiting for, never a reason to park.

    aiokafka reports an unreachable broker as a (non-retriable) KafkaTimeoutError.
    """
    return is_transient(error) or isinstance(error, KafkaTimeoutError)


def _same_ref(recovered: Document, waiting: Document) -> bool:
    return dict(recovered) == dict(waiting)


def new_revision() -> dict[str, Any]:
    """Fields to `$set` alongside a change whose events are derived per revision."""
    return {"rev": new_id(), "changed_at": utcnow()}


@dataclass(eq=False)
class _Shared:
    """An intent that later changes of the same kind and key may join."""

    intent: Document
    key: tuple[str, str]
    stored: asyncio.Future[None]
    since: float
    holders: int = 1  # changes that joined it and are not yet settled
    failed: int = 0  # of those, the ones whose events wait for the retry loop
    parked: bool = False
    release: asyncio.TimerHandle | None = None


class Outbox:
    """Intents of one service: record, publish, forget; recover what stayed."""

    def __init__(
        self,
        db: Any,
        publisher: EventPublisher,
        *,
        grace: timedelta = timedelta(seconds=10),
        sweep_every: float = 300.0,
        inline_timeout: float = 2.0,
    ) -> None:
        self._intents = db["intents"]
        self._inserts = InsertBatcher(self._intents)
        self._publisher = publisher
        self._grace = grace
        self._sweep_every = sweep_every
        self._inline_timeout = inline_timeout
        self._recoverers: dict[str, Recover] = {}
        self._covers: dict[str, Covers] = {}
        self._finished: list[str] = []
        self._flush_wanted = asyncio.Event()
        self._flushing = asyncio.Lock()
        self._failed: dict[str, Document] = {}
        self._tries: dict[str, int] = {}
        self._background: set[asyncio.Task[bool]] = set()
        self._retry_wanted = asyncio.Event()
        self._held: dict[Any, _Shared] = {}  # shared intents in use, by `_id`
        self._joinable: dict[tuple[str, str], _Shared] = {}  # by kind and share key

    def on(self, kind: str, recover: Recover, *, covers: Covers | None = None) -> None:
        """How to re-derive the events of an intent of this kind (and which intents one
        recovery makes needless, for the retry loop)."""
        self._recoverers[kind] = recover
        if covers is not None:
            self._covers[kind] = covers

    async def ensure_indexes(self) -> None:
        """Nothing: the sweep reads a collection that is empty at rest."""

    async def intend(self, kind: str, *, share: str | None = None, **ref: Any) -> Document:
        """Record, durably, that a change of this kind is about to happen.

        With `share` (a key such as a thread's id), join this process's recent intent of
        the same kind and key if recovering it would publish this change too (the kind's
        `covers`); otherwise write a new one that later changes may join.
        """
        if kind not in self._recoverers:
            raise ValueError(f"no recovery registered for intent kind {kind!r}")
        if share is not None and (joined := self._join((kind, share), ref)) is not None:
            try:
                await asyncio.shield(joined.stored)
            except BaseException:
                joined.holders -= 1
                raise
            return joined.intent
        intent = {"_id": new_id(), "kind": kind, "ref": ref, "at": utcnow()}
        if share is None:
            await self._inserts.insert(intent)
            return intent
        loop = asyncio.get_running_loop()
        shared = _Shared(intent, (kind, share), loop.create_future(), time.monotonic())
        self._joinable[shared.key] = self._held[intent["_id"]] = shared
        try:
            await self._inserts.insert(intent)
        except BaseException as error:  # its joiners fail with this change
            self._close(shared)
            del self._held[intent["_id"]]
            if isinstance(error, Exception):
                shared.stored.set_exception(error)
                shared.stored.exception()  # raised to the joiners; none may be waiting
            else:
                shared.stored.cancel()
            raise
        shared.stored.set_result(None)
        return intent

    def _join(self, key: tuple[str, str], ref: Document) -> _Shared | None:
        shared = self._joinable.get(key)
        if shared is None:
            return None
        covers = self._covers.get(key[0], _same_ref)
        if time.monotonic() - shared.since > SHARE_FOR or not covers(shared.intent["ref"], ref):
            self._close(shared)
            return None
        shared.holders += 1
        if shared.release is not None:
            shared.release.cancel()
            shared.release = None
        return shared

    def _close(self, shared: _Shared) -> None:
        """No further change joins this intent; it goes once its holders are settled."""
        if self._unjoin(shared) and shared.holders == 0:
            self._release(shared)

    def _unjoin(self, shared: _Shared) -> bool:
        """Take the intent out of the joinable ones; whether it was one."""
        if self._joinable.get(shared.key) is not shared:
            return False
        del self._joinable[shared.key]
        return True

    def _settle(self, shared: _Shared, count: int) -> None:
        """`count` of a shared intent's changes are published (or discarded, or parked)."""
        shared.holders -= count
        if shared.holders > 0:
            return
        if shared.parked:
            self._held.pop(shared.intent["_id"], None)  # the parked intent stays stored
        elif self._joinable.get(shared.key) is shared and (
            time.monotonic() - shared.since < SHARE_FOR
        ):
            shared.release = asyncio.get_running_loop().call_later(LINGER, self._release, shared)
        else:
            self._release(shared)

    def _release(self, shared: _Shared) -> None:
        """No change holds the shared intent and none joins it any more: delete it."""
        if shared.release is not None:
            shared.release.cancel()
            shared.release = None
        self._unjoin(shared)
        self._held.pop(shared.intent["_id"], None)
        self._finish(shared.intent["_id"])

    async def publish(self, intent: Document, events: list[Event]) -> None:
        """Publish the change's events, then forget the intent."""
        await self._publisher.publish_all(events)
        self._forget(intent)

    async def publish_soon(self, intent: Document, events: list[Event]) -> bool:
        """Publish right after a change, but never fail or stall the change for it.

        The intent is durable: if the broker does not answer in time, the retry loop (or,
        after a crash, the sweep) publishes later. True when published now.
        """
        if self._failed:
            # The broker is known to be failing: queue behind the backlog (keeping order)
            # instead of making every request wait out the timeout.
            self._defer(intent)
            return False
        try:
            await asyncio.wait_for(self.publish(intent, events), self._inline_timeout)
        except Exception as error:  # any failure leaves the work to the retry loop
            log.warning(
                "inline publish failed; retrying in the background",
                extra={"intent_kind": intent["kind"], "error_type": type(error).__name__},
            )
            self._defer(intent)
            return False
        return True

    def _defer(self, intent: Document) -> None:
        """Leave a change's publish to the retry loop."""
        self._failed[intent["_id"]] = intent
        if (shared := self._held.get(intent["_id"])) is not None:
            shared.failed += 1
        self._retry_wanted.set()

    def publish_later(self, intent: Document, events: list[Event]) -> None:
        """Publish in the background: the caller answers without waiting for the broker.

        Safe because the intent is durable: whatever happens to this process, the events
        are published (by this task, the retry loop, or the next process's sweep).
        """
        task = asyncio.get_running_loop().create_task(self.publish_soon(intent, events))
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    async def drain(self) -> None:
        """Wait for the background publishes started so far (at shutdown, in tests)."""
        while self._background:
            await asyncio.gather(*list(self._background), return_exceptions=True)

    async def close(self) -> None:
        """At shutdown: finish the publishes in flight and delete every finished intent.

        An intent left behind is recovered by the next start, which republishes its events
        and re-reads what it covers: correct, but needless work for every clean stop.
        """
        await self.drain()
        for shared in list(self._held.values()):
            if shared.release is not None:  # lingering, held by no change
                self._release(shared)
        await self.flush()

    async def recover(self, intent: Document) -> None:
        """Publish the events of an intent's current state, then forget it."""
        recover = self._recoverers.get(intent["kind"])
        if recover is None:
            log.error("intent of an unknown kind left as is", extra={"kind": intent["kind"]})
            return
        # Only the changes waiting now are stored before the recovery reads the state.
        waiting = self._waiting(intent)
        await self._publisher.publish_all(await recover(intent["ref"]))
        self._recovered(intent, waiting)

    def _waiting(self, intent: Document) -> int:
        shared = self._held.get(intent["_id"])
        return shared.failed if shared is not None else 0

    def _recovered(self, intent: Document, waiting: int) -> None:
        """A recovery published the changes of an intent that were waiting before it began."""
        shared = self._held.get(intent["_id"])
        if shared is None:
            self._finish(intent["_id"])
            return
        shared.failed -= waiting
        if shared.failed == 0:
            self._failed.pop(intent["_id"], None)
        self._settle(shared, waiting)

    async def sweep(self, *, at_start: bool = False) -> int:
        """Recover every intent older than the grace period; returns how many.

        At start every intent predates this process: its writer died or is another live
        instance, whose events published twice are harmless. One intent that cannot be
        recovered never holds up the others; after a few tries it is parked for an operator.
        """
        cutoff = utcnow() if at_start else utcnow() - self._grace
        where = {"at": {"$lt": cutoff}, "parked": {"$exists": False}}
        found = [
            intent
            async for intent in self._intents.find(where).limit(DELETE_BATCH)
            if intent["_id"] not in self._held  # this process's changes still settle it
        ]
        recovered = await self._recover_in_order(found)
        if recovered:
            log.info("outbox recovered intents", extra={"count": recovered})
        await self.flush()
        return recovered

    async def _try_recover(self, intent: Document) -> bool:
        try:
            await self.recover(intent)
        except Exception as error:
            log.warning(
                "intent recovery failed",
                extra={"intent_kind": intent["kind"], "error_type": type(error).__name__},
            )
            if unavailable(error):
                return False  # the broker or the database is away: no fault of the intent's
            tries = self._tries[intent["_id"]] = self._tries.get(intent["_id"], 0) + 1
            if tries >= PARK_AFTER_TRIES:
                try:
                    await self._park(intent, error)
                except Exception as park_error:  # the database went away: park it later
                    log.warning(
                        "parking an intent failed",
                        extra={
                            "intent_kind": intent["kind"],
                            "error_type": type(park_error).__name__,
                        },
                    )
            return False
        self._tries.pop(intent["_id"], None)
        return True

    async def _park(self, intent: Document, error: BaseException) -> None:
        """Keep an intent that keeps failing aside, with why, and stop retrying it."""
        self._failed.pop(intent["_id"], None)
        if (shared := self._held.get(intent["_id"])) is not None:
            shared.parked = True
            self._close(shared)
            shared.failed, waiting = 0, shared.failed
            self._settle(shared, waiting)
        await self._intents.update_one(
            {"_id": intent["_id"]},
            {"$set": {"parked": True, "error_type": type(error).__name__, "parked_at": utcnow()}},
        )
        log.error("intent parked", extra={"intent_kind": intent["kind"]})

    async def pending(self, **ref: Any) -> list[Document]:
        """Intents not yet forgotten whose reference includes these values (for tests and ops)."""
        where = {f"ref.{key}": value for key, value in ref.items()}
        return [intent async for intent in self._intents.find(where)]

    async def flush(self) -> None:
        """Delete the intents whose events are published (waits for a flush under way)."""
        async with self._flushing:
            await self._delete_finished()

    async def _delete_finished(self) -> None:
        while self._finished:
            batch, self._finished = self._finished[:DELETE_BATCH], self._finished[DELETE_BATCH:]
            if len(batch) == 1:
                await self._intents.delete_one({"_id": batch[0]})
            else:  # scans only the intents collection, which holds just the work in flight
                await self._intents.delete_many({"_id": {"$in": batch}})

    async def run(self) -> None:
        """Background work for the life of the process: deletes, retries and the sweep."""
        async with asyncio.TaskGroup() as group:
            group.create_task(self._flush_forever())
            group.create_task(self._retry_forever())
            group.create_task(self._sweep_forever())

    async def backlog(self) -> int:
        """Changes whose events wait for the broker in this process."""
        return len(self._failed)

    def discard(self, intent: Document) -> None:
        """The change did not happen (refused, or repeated): forget its intent."""
        self._forget(intent)

    def _forget(self, intent: Document) -> None:
        """One change of this intent is published or did not happen."""
        if (shared := self._held.get(intent["_id"])) is not None:
            self._settle(shared, 1)
        else:
            self._finish(intent["_id"])

    def _finish(self, intent_id: Any) -> None:
        self._failed.pop(intent_id, None)
        self._finished.append(intent_id)
        self._flush_wanted.set()

    async def _flush_forever(self) -> None:
        while True:
            await self._flush_wanted.wait()
            self._flush_wanted.clear()
            try:
                await self.flush()
            except Exception as error:  # the intents stay; a later flush or sweep handles them
                log.warning("outbox flush failed", extra={"error_type": type(error).__name__})
                await asyncio.sleep(1.0)

    async def _retry_forever(self) -> None:
        delay = 0.5
        while True:
            await self._retry_wanted.wait()
            await asyncio.sleep(delay)
            progressed = await self._retry_round()
            if not self._failed:
                delay = 0.5
                self._retry_wanted.clear()
            else:  # the broker is back (progress): what queued meanwhile goes next, at once
                delay = 0.5 if progressed else min(delay * 2, MAX_RETRY_DELAY)

    async def _retry_round(self) -> bool:
        """Recover the intents waiting now, in order; True if any was published."""
        return await self._recover_in_order(list(self._failed.values())) > 0

    async def _recover_in_order(self, intents: list[Document]) -> int:
        """Recover intents oldest first; returns how many are settled.

        Each intent's change is stored already, so a recovery (which publishes the current
        state) also covers the later intents its kind says it covers: those are forgotten
        instead of re-derived one by one, which (after an outage, or at the start after a
        crash) republished every later message of a thread once per message sent meanwhile.
        """
        settled: set[Any] = set()
        waiting = {intent["_id"]: self._waiting(intent) for intent in intents}
        for intent in sorted(intents, key=lambda i: i["at"]):
            if intent["_id"] in settled or not await self._try_recover(intent):
                continue
            settled.add(intent["_id"])
            covers = self._covers.get(intent["kind"], _same_ref)
            for other in intents:
                if (
                    other["_id"] not in settled
                    and other["kind"] == intent["kind"]
                    and covers(intent["ref"], other["ref"])
                ):
                    settled.add(other["_id"])
                    self._recovered(other, waiting[other["_id"]])
        return len(settled)

    async def _sweep_forever(self) -> None:
        at_start = True
        while True:
            try:
                await self.sweep(at_start=at_start)
                at_start = False
            except Exception as error:  # e.g. the database is down: try again soon
                log.warning("outbox sweep failed", extra={"error_type": type(error).__name__})
                await asyncio.sleep(min(5.0, self._sweep_every))
                continue
            await asyncio.sleep(self._sweep_every)
