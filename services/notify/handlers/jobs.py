"""Accepting jobs: one record per channel, attempted once, its outcome settled exactly once.

A direct message's job costs a handful of `_id` operations: the recipient's profile, one
bulk insert of queue entries, one of records, then per attempt the read position, the
record's outcome and the entry's removal.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta

from services.notify.domain import (
    Attempt,
    Job,
    QueueEntry,
    email_record,
    inbox_record,
    push_record,
)
from services.notify.handlers.attempts import Attempts
from services.notify.handlers.email import EmailDelivery
from services.notify.handlers.outcomes import Outcomes
from services.notify.handlers.scheduler import Scheduler
from services.notify.ports import DeliveriesPort, QueuePort, UsersPort
from shared.batching import each_in_order
from shared.clock import utcnow

# Recipients whose jobs are accepted at once (their reads and writes group-committed).
ACCEPT_CONCURRENCY = 64


@dataclass(frozen=True)
class Jobs:
    """Records a job's deliveries and runs them; resumes deliveries taken over from the queue."""

    deliveries: DeliveriesPort
    queue: QueuePort
    users: UsersPort
    email: EmailDelivery
    outcomes: Outcomes
    attempts: Attempts
    scheduler: Scheduler
    email_delay: timedelta
    lease: timedelta

    async def accept_all(self, jobs: Sequence[Job]) -> None:
        """Accept a batch of jobs: each recipient's in order, recipients side by side, so
        their lookups and inserts go to the database together. One failure cancels the
        rest (the batch is redelivered; a job accepted already is not attempted again)."""
        await each_in_order(
            jobs, key=lambda job: job.recipient_id, run=self.accept, concurrency=ACCEPT_CONCURRENCY
        )

    async def accept(self, job: Job) -> None:
        """Record a job's deliveries (durable before the offset commits), then run them.

        A record that exists already means a redelivered job: that channel is not attempted
        again. A channel with nothing to send is settled at once; a direct message's email
        waits for its delay. Announcements are fanned out by part (`Parts`); a job for one
        (from an older instance during an upgrade) is served too, its inbox record being
        the guard both paths share.
        """
        now = utcnow()
        if job.source == "announcement":
            inbox = inbox_record(job, now)
            if await self.deliveries.add([inbox]):
                return  # this recipient was handled already
            await self.outcomes.announce([inbox])
        profile = await self.users.profile(job.recipient_id)
        address = None if job.email_waits else await self.email.address(job, profile.prefs)
        records = [
            push_record(job, profile, now),
            email_record(job, profile.prefs, address, now, self.email_delay),
        ]
        open_ = [r for r in records if not r.is_final]
        owner = self.scheduler.owner
        entries = [QueueEntry.for_delivery(r, owner, self.lease, utcnow()) for r in open_]
        # Entries first: a crash in between leaves an entry the sweep resolves, never an open
        # record nobody looks at.
        taken = await self.queue.add(entries)
        existing = await self.deliveries.add(records)
        for entry in entries:
            if entry.id in existing and entry.id not in taken:
                await self.queue.remove(entry.id)  # handled before: the entry just made is moot
        await self.outcomes.announce([r for r in records if r.is_final and r.id not in existing])
        for record in open_:
            if record.id in existing or record.id in taken:
                continue  # another run has it
            run = Attempt(record, lease_until=record.due_at + self.lease)
            await self.scheduler.soon(record.id, record.due_at, self.attempts.later(run, profile))

    async def resume(self, entry: QueueEntry) -> None:
        """Carry on with a delivery taken over from the queue (its owner died or let it go)."""
        delivery = await self.deliveries.get(entry.id)
        if delivery is None:
            # The record may still come (its job is being redelivered) or never will (a crash
            # right after the entry was written): look again after the lease, then drop it.
            if entry.orphaned(utcnow()):
                await self.queue.remove(entry.id)
            self.scheduler.settled(entry.id)
            return
        if delivery.is_final:
            await self.outcomes.announce([delivery])  # settled, but maybe never published
            await self.outcomes.done(entry.id)
            return
        run = Attempt(delivery, lease_until=entry.lease_until)
        self.scheduler.at(entry.id, delivery.due_at, self.attempts.later(run))
