"""Settling deliveries: each outcome stored exactly once, then published, then its work dropped.

Every outcome is published as DeliveryRecorded after it is stored; the queue entry (or
the announcement part's entry) stays until then, so a crash in between is repaired by
whoever resumes the entry.
"""

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from services.notify.domain import (
    Attempt,
    Close,
    Delivery,
    GiveUp,
    Outcome,
    QueueEntry,
    Retry,
    RetryPolicy,
)
from services.notify.events import recorded_event
from services.notify.handlers.scheduler import Scheduler
from services.notify.ports import DeadLettersPort, DeliveriesPort, PublisherPort, QueuePort
from shared.clock import utcnow
from shared.metrics import count_deliveries

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Outcomes:
    """Records what became of deliveries: final outcomes, retries and failures."""

    deliveries: DeliveriesPort
    queue: QueuePort
    publisher: PublisherPort
    dead_letters: DeadLettersPort
    scheduler: Scheduler
    policy: RetryPolicy
    lease: timedelta

    async def announce(self, settled: Sequence[Delivery]) -> None:
        """Publish settled records' DeliveryRecorded events (idempotent: stable event ids)."""
        events = [recorded_event(d) for d in settled]
        await self.publisher.publish_all(events)
        count_deliveries(events)

    async def settle(self, run: Attempt, outcome: Outcome, *, started: datetime) -> Attempt | None:
        """Close the record (and publish it) or store the retry; returns the attempt to schedule."""
        step = run.delivery.next_step(outcome, started=started, now=utcnow(), policy=self.policy)
        if isinstance(step, Close):
            await self.finish(run, step.status, step.reason, at=started)
        elif isinstance(step, GiveUp):
            await self._fail(run, step.error, started)
        else:
            return await self._retry(run, step)
        return None

    async def _retry(self, run: Attempt, step: Retry) -> Attempt:
        delivery = step.delivery
        log.info("delivery will be retried", extra={"delivery_id": delivery.id})
        lease_until = delivery.due_at + self.lease
        if run.queued:
            await self.queue.reschedule(delivery.id, delivery.due_at, lease_until)
        else:
            entry = QueueEntry.for_delivery(delivery, self.scheduler.owner, self.lease, utcnow())
            await self.queue.add([entry])
        if run.stored:
            await self.deliveries.reschedule(delivery, error=step.error)
        else:
            await self.deliveries.add_one(delivery)
        return Attempt(delivery, lease_until=lease_until)

    async def _fail(self, run: Attempt, error: str, started: datetime) -> None:
        await self.dead_letters.park(run.delivery, error)
        await self.finish(run, "failed", error, at=started)
        log.warning(
            "delivery failed",
            extra={"delivery_id": run.delivery.id, "channel": run.delivery.channel},
        )

    async def finish(self, run: Attempt, status: str, reason: str | None, *, at: datetime) -> None:
        """Store the final outcome, publish it, then drop the delivery's queue entry."""
        settled = run.delivery.closed(status, reason, at)
        if run.stored:
            await self.deliveries.settle(settled)
        elif not await self.deliveries.add_one(settled):
            stored = await self.deliveries.get(settled.id)  # recorded meanwhile: that one counts
            settled = stored if stored is not None else settled
        await self.announce([settled])
        if run.queued:
            await self.done(settled.id)

    async def record_all(self, finals: list[Delivery]) -> None:
        """Store outcomes final at once in one bulk insert, then publish them together.

        A record that exists already was stored meanwhile (by another run): that one counts.
        """
        existing = await self.deliveries.add(finals)
        stored = await self.deliveries.get_many(sorted(existing)) if existing else {}
        recorded = [stored.get(d.id, d) for d in finals]
        await self.announce([d for d in recorded if d.is_final])

    async def done(self, entry_id: str) -> None:
        """The entry's work is settled: it leaves the queue and this process's timers."""
        await self.queue.remove(entry_id)
        self.scheduler.settled(entry_id)
