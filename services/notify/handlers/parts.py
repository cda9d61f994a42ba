"""Announcement fan-out, one part (up to 1,000 clients) at a time, in batches.

A part is queued as one entry (its recipients inside, a bounded document), so a crash
anywhere is resumed from the queue. Its deliveries are planned from each recipient's
profile and directory address (read by `_id`, a batch of ids per query); every record that is
final at once (the inbox, nothing to send) goes out in one unordered bulk insert, whose
duplicates tell a replayed part from a new one. Pushes (a batch of recipients' devices
per gateway request) and emails then run concurrently under the process's send limit,
over one pooled keep-alive client; each outcome is stored (group-committed inserts) and
then published. When all are settled the part's entry goes.
"""

import asyncio
from collections.abc import Coroutine
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from services.notify.domain import (
    Attempt,
    Delivery,
    Job,
    Part,
    Profile,
    QueueEntry,
    email_record,
    inbox_record,
    push_record,
)
from services.notify.handlers.attempts import Attempts
from services.notify.handlers.email import EmailDelivery
from services.notify.handlers.outcomes import Outcomes
from services.notify.handlers.push import PushDelivery
from services.notify.handlers.scheduler import Scheduler
from services.notify.ports import DeliveriesPort, QueuePort, UsersPort
from shared.clock import utcnow
from shared.metrics import FANOUT_JOBS


@dataclass
class Plan:
    """What a part's recipients get: records final at once, and deliveries to attempt."""

    final: list[Delivery] = field(default_factory=list)
    to_send: list[Delivery] = field(default_factory=list)
    profiles: dict[str, Profile] = field(default_factory=dict)
    addresses: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Parts:
    """Fans announcement parts out to their recipients, resumably."""

    deliveries: DeliveriesPort
    queue: QueuePort
    users: UsersPort
    email: EmailDelivery
    push: PushDelivery
    outcomes: Outcomes
    attempts: Attempts
    scheduler: Scheduler
    lease: timedelta
    # Recipients of an announcement whose pushes share one gateway request.
    push_batch: int = 1

    async def accept(self, part: Part) -> None:
        """Queue the part (durable before the offset commits), then fan it out in the background.

        An entry that exists already is another run's: alive, it finishes the part; dead,
        the sweep takes the entry over once its lease runs out.
        """
        now = utcnow()
        entry = QueueEntry.for_part(part, self.scheduler.owner, self.lease, now)
        if await self.queue.add([entry]):
            return
        FANOUT_JOBS.labels("announcement").inc(len(part.jobs()))
        self.scheduler.hold(entry.id, now)
        await self.scheduler.run_part(self.run(entry))

    async def resume(self, entry: QueueEntry) -> None:
        """Carry on with a part taken over from the queue (its owner died or let it go)."""
        self.scheduler.hold(entry.id, entry.due_at)
        await self.scheduler.run_part(self.run(entry, resumed=True))

    async def run(self, entry: QueueEntry, *, resumed: bool = False) -> None:
        """Deliver a part to every recipient; the entry goes once every delivery is settled."""
        assert entry.part is not None
        renewing = asyncio.create_task(self._renew(entry.id))
        try:
            plan = await self._plan(entry.part.jobs())
            to_send = await self._record_final(plan, resumed=resumed)
            if await self._send_all(to_send, plan):
                await self.outcomes.done(entry.id)
        finally:
            renewing.cancel()

    async def _renew(self, entry_id: str) -> None:
        """Keep the part's lease while it runs (a slow gateway can make a part take minutes)."""
        every = self.lease.total_seconds() / 3
        while True:
            await asyncio.sleep(every)
            await self.queue.renew(entry_id, utcnow() + self.lease)

    async def _plan(self, jobs: list[Job]) -> Plan:
        plan = Plan()
        plan.profiles = await self.users.profiles([job.recipient_id for job in jobs])
        plan.addresses = await self.email.addresses(jobs, plan.profiles)
        now = utcnow()
        for job in jobs:
            profile = plan.profiles[job.recipient_id]
            address = plan.addresses.get(job.recipient_id)
            for record in (
                inbox_record(job, now),
                push_record(job, profile, now),
                email_record(job, profile.prefs, address, now),
            ):
                (plan.final if record.is_final else plan.to_send).append(record)
        return plan

    async def _record_final(self, plan: Plan, *, resumed: bool) -> list[Delivery]:
        """Insert the records final at once and publish them; returns what is left to attempt.

        A recipient whose inbox record exists was delivered by an earlier run of this part.
        A resumed run also republishes what that run stored (it may have died before
        publishing) and attempts only what it left without a record.
        """
        existing = await self.deliveries.add(plan.final)
        await self.outcomes.announce([d for d in plan.final if d.id not in existing])
        if not resumed:
            done = {
                d.job.recipient_id for d in plan.final if d.id in existing and d.channel == "inbox"
            }
            return [d for d in plan.to_send if d.job.recipient_id not in done]
        earlier = await self.deliveries.get_many(
            [d.id for d in plan.final if d.id in existing] + [d.id for d in plan.to_send]
        )
        await self.outcomes.announce([d for d in earlier.values() if d.is_final])
        return [d for d in plan.to_send if d.id not in earlier]

    async def _send_all(self, to_send: list[Delivery], plan: Plan) -> bool:
        """Attempt every delivery under the process's send limit; True once all are settled."""
        pushes = [d for d in to_send if d.channel == "push"]
        size = self.push_batch
        batches = [pushes[i : i + size] for i in range(0, len(pushes), size)]
        batches += [[d] for d in to_send if d.channel != "push"]
        tasks = []
        for batch in batches:
            if self.scheduler.stopping:
                break  # the rest is left to whoever resumes the part
            tasks.append(await self.scheduler.dispatcher.submit(self._attempt(batch, plan)))
        results = await asyncio.gather(*tasks, return_exceptions=True)
        return len(tasks) == len(batches) and all(r is True for r in results)

    def _attempt(self, batch: list[Delivery], plan: Plan) -> Coroutine[Any, Any, bool]:
        if len(batch) > 1:
            return self._push_together(batch, plan)
        first = batch[0]
        run = Attempt(first, lease_until=utcnow() + self.lease, stored=False, queued=False)
        recipient = first.job.recipient_id
        return self.attempts.attempt(
            run, profile=plan.profiles[recipient], address=plan.addresses.get(recipient)
        )

    async def _push_together(self, batch: list[Delivery], plan: Plan) -> bool:
        """Push several recipients' devices in one gateway request, then settle them together."""
        started = utcnow()
        profiles = [plan.profiles[d.job.recipient_id] for d in batch]
        finals: list[Delivery] = []
        for delivery, outcome in zip(batch, await self.push.together(batch, profiles), strict=True):
            closed = delivery.closed_by(outcome, started)
            if closed is not None:
                finals.append(closed)
            else:  # retried or failed one by one
                run = Attempt(
                    delivery, lease_until=started + self.lease, stored=False, queued=False
                )
                await self.attempts.settle(run, outcome, started=started)
        # One bulk insert and one batch of events for the batch's outcomes.
        await self.outcomes.record_all(finals)
        return True
