"""Delivering jobs: one record per channel, attempted once, its outcome settled exactly once.

A direct message's job costs a handful of `_id` operations: the recipient's profile, one
bulk insert of queue entries, one of records, then per attempt the read position, the
record's outcome and the entry's removal. Every outcome is published as DeliveryRecorded
after it is stored; the queue entry (or the announcement part's entry) stays until then,
so a crash in between is repaired by whoever resumes the entry.
"""

import logging
from collections.abc import Coroutine, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any, Protocol

from services.notify.channels.email import Mailer
from services.notify.channels.push import PushGateway
from services.notify.dead_letters import DeadLetters
from services.notify.domain import (
    FINAL_STATUSES,
    Delivery,
    Job,
    Outcome,
    Permanent,
    Preferences,
    Profile,
    RetryPolicy,
    Sent,
    Skipped,
    Transient,
    closed,
    email_address_for,
    link_for,
    new_delivery,
    push_skip,
    still_unread,
)
from services.notify.handlers.scheduler import Scheduler, Work
from services.notify.store.deliveries import Deliveries, recorded_event
from services.notify.store.projections import ClientEmails, ReadState
from services.notify.store.queue import QueueEntry, WorkQueue
from services.notify.store.users import Users
from shared.clock import utcnow
from shared.events.base import Event
from shared.ids import stable_uuid
from shared.metrics import count_deliveries

log = logging.getLogger(__name__)

# A queue entry whose record has not appeared after this long was left by a failed write.
ORPHAN_GRACE = timedelta(minutes=5)


class Publisher(Protocol):
    """Where events go (the topic each event names)."""

    async def publish(self, event: Event) -> None:
        """Publish one event and wait for the broker."""

    async def publish_all(self, events: Sequence[Event]) -> None:
        """Publish events together and wait for the broker."""


@dataclass(frozen=True)
class DeliveryTools:
    """The collaborators a delivery attempt uses."""

    deliveries: Deliveries
    queue: WorkQueue
    users: Users
    clients: ClientEmails
    reads: ReadState
    push: PushGateway
    mailer: Mailer
    publisher: Publisher
    dead_letters: DeadLetters
    policy: RetryPolicy
    link_base_url: str
    email_delay: timedelta
    lease: timedelta
    # An attempt starts only if it can finish well within its lease.
    lease_margin: timedelta
    # Recipients of an announcement whose pushes share one gateway request.
    push_batch: int = 1


@dataclass(frozen=True)
class Attempt:
    """One try of a delivery, and what exists of it in the database."""

    delivery: Delivery
    lease_until: datetime
    # The record exists (a direct message's); else the outcome creates it (a part's push).
    stored: bool = True
    # A queue entry named after the delivery exists; else a part's entry covers it.
    queued: bool = True


async def announce(settled: Sequence[Delivery], *, tools: DeliveryTools) -> None:
    """Publish settled records' DeliveryRecorded events (idempotent: stable event ids)."""
    events = [recorded_event(d) for d in settled]
    await tools.publisher.publish_all(events)
    count_deliveries(events)


def _entry(delivery: Delivery, owner: str, lease: timedelta) -> QueueEntry:
    return QueueEntry(
        id=delivery.id,
        kind="delivery",
        owner=owner,
        due_at=delivery.due_at,
        lease_until=delivery.due_at + lease,
        created_at=utcnow(),
    )


async def accept_job(job: Job, *, tools: DeliveryTools, scheduler: Scheduler) -> None:
    """Record a job's deliveries (durable before the offset commits), then run them.

    A record that exists already means a redelivered job: that channel is not attempted
    again. A channel with nothing to send is settled at once; a direct message's email
    waits for its delay. Announcements are fanned out by part (`parts.py`); a job for one
    (from an older instance during an upgrade) is served too, its inbox record being the
    guard both paths share.
    """
    now = utcnow()
    if job.source == "announcement":
        inbox = closed(new_delivery(job, "inbox", now), "delivered", None, now)
        if await tools.deliveries.add([inbox]):
            return  # this recipient was handled already
        await announce([inbox], tools=tools)
    profile = await tools.users.profile(job.recipient_id)
    records = [_push_record(job, profile, now), await _email_record(job, profile, now, tools)]
    open_ = [r for r in records if r.status not in FINAL_STATUSES]
    entries = [_entry(r, scheduler.owner, tools.lease) for r in open_]
    # Entries first: a crash in between leaves an entry the sweep resolves, never an open
    # record nobody looks at.
    taken = await tools.queue.add(entries)
    existing = await tools.deliveries.add(records)
    for entry in entries:
        if entry.id in existing and entry.id not in taken:
            await tools.queue.remove(entry.id)  # handled before: the entry just made is moot
    settled = [r for r in records if r.status in FINAL_STATUSES and r.id not in existing]
    await announce(settled, tools=tools)
    for record in open_:
        if record.id in existing or record.id in taken:
            continue  # another run has it
        run = Attempt(record, lease_until=record.due_at + tools.lease)
        work = _attempt_later(run, tools, scheduler, profile)
        await scheduler.soon(record.id, record.due_at, work)


def _push_record(job: Job, profile: Profile, now: datetime) -> Delivery:
    push = new_delivery(job, "push", now)
    skip = push_skip(profile)
    return closed(push, "skipped", skip.reason, now) if skip else push


async def _email_record(
    job: Job, profile: Profile, now: datetime, tools: DeliveryTools
) -> Delivery:
    if job.source == "direct_message":
        # Whether it goes, and where, is decided when the delay is over.
        return new_delivery(job, "email", now + tools.email_delay)
    email = new_delivery(job, "email", now)
    if not profile.prefs.email:
        return closed(email, "skipped", "opted_out", now)
    if await email_address(job, profile.prefs, tools) is None:
        return closed(email, "skipped", "no_address", now)
    return email


def _attempt_later(
    run: Attempt, tools: DeliveryTools, scheduler: Scheduler, profile: Profile | None = None
) -> Work:
    # A profile just read serves an attempt due now; a delayed one reads it again when due.
    reuse = profile if run.delivery.due_at <= utcnow() + timedelta(seconds=1) else None

    def start() -> Coroutine[Any, Any, bool]:
        return attempt(run, tools=tools, scheduler=scheduler, profile=reuse)

    return start


async def attempt(
    run: Attempt,
    *,
    tools: DeliveryTools,
    scheduler: Scheduler,
    profile: Profile | None = None,
    address: str | None = None,
) -> bool:
    """Try one delivery once and settle what happened; False if it was not the time to try."""
    started = utcnow()
    if started > run.lease_until - tools.lease_margin:
        return False  # too late to finish within the lease: the sweep takes it over
    delivery = run.delivery
    profile = profile or await tools.users.profile(delivery.job.recipient_id)
    if delivery.channel == "push":
        outcome = await _push(delivery, profile, tools)
    elif delivery.channel == "email":
        outcome = await _email(delivery, profile, tools, address)
    else:
        outcome = Skipped("unsupported_channel")
    await settle(run, outcome, started=started, tools=tools, scheduler=scheduler)
    return True


async def _push(delivery: Delivery, profile: Profile, tools: DeliveryTools) -> Outcome:
    job = delivery.job
    skip = push_skip(profile)
    if skip is not None:
        return skip
    unread = 1  # announcements are not counted in the red dot
    if job.source == "direct_message" and job.thread_id is not None:
        position = await tools.reads.position(job.thread_id, job.recipient_id)
        unread = max(position.unread_threads or 0, 1)
    result = await tools.push.send(push_notification_id(job, delivery.id), unread, profile.devices)
    return await push_outcome(delivery, profile, result.outcome, result.rejected, tools)


def push_notification_id(job: Job, delivery_id: str) -> str:
    """The push's opaque id: the same for every push of one announcement, and per message.

    A repeated push carries the same id, so the app shows it once; the id is a hash,
    because a delivery id would name the recipient.
    """
    if job.source == "announcement":
        return str(stable_uuid(job.source_id, "push"))
    return str(stable_uuid(delivery_id, "push"))


async def push_outcome(
    delivery: Delivery,
    profile: Profile,
    outcome: Outcome,
    rejected: list[str],
    tools: DeliveryTools,
) -> Outcome:
    """A push's outcome for one recipient: devices the gateway rejected are forgotten."""
    mine = {d.token for d in profile.devices} & set(rejected)
    if not mine:
        return outcome
    removed = await tools.users.remove_tokens(delivery.job.recipient_id, sorted(mine))
    log.info("rejected pushkeys removed", extra={"delivery_id": delivery.id, "count": removed})
    if isinstance(outcome, Sent) and len(mine) >= len(profile.devices):
        return Skipped("rejected")
    return outcome


async def email_address(job: Job, prefs: Preferences, tools: DeliveryTools) -> str | None:
    """Where an email goes: the user's own address, else (clients) the directory's."""
    directory = (
        await tools.clients.email_of(job.practice_id, job.recipient_id)
        if job.recipient_role == "client" and prefs.email and not prefs.email_address
        else None
    )
    return email_address_for(job, prefs, directory)


async def _email(
    delivery: Delivery, profile: Profile, tools: DeliveryTools, address: str | None
) -> Outcome:
    job = delivery.job
    if job.source == "direct_message" and job.thread_id is not None:
        position = await tools.reads.position(job.thread_id, job.recipient_id)
        if not still_unread(position.read_seq, job.seq):
            return Skipped("read")
    if not profile.prefs.email:
        return Skipped("opted_out")
    address = address or await email_address(job, profile.prefs, tools)
    if address is None:
        return Skipped("no_address")
    return await tools.mailer.send(address, link_for(job, tools.link_base_url))


async def settle(
    run: Attempt,
    outcome: Outcome,
    *,
    started: datetime,
    tools: DeliveryTools,
    scheduler: Scheduler,
) -> None:
    """Close the record (and publish DeliveryRecorded) or schedule the next attempt."""
    delivery = run.delivery
    if isinstance(outcome, Sent):
        await finish(run, "sent", None, at=started, tools=tools, scheduler=scheduler)
    elif isinstance(outcome, Skipped):
        await finish(run, "skipped", outcome.reason, at=started, tools=tools, scheduler=scheduler)
    elif isinstance(outcome, Permanent):
        await _fail(run, outcome.error, started, tools, scheduler)
    else:
        first = delivery.first_attempt_at or started
        next_at = tools.policy.next_attempt(delivery.attempts, first, utcnow())
        if next_at is None:
            await _fail(run, outcome.error, started, tools, scheduler)
        else:
            await _retry(run, outcome, next_at, first, tools, scheduler)


async def _retry(
    run: Attempt,
    outcome: Transient,
    next_at: datetime,
    first: datetime,
    tools: DeliveryTools,
    scheduler: Scheduler,
) -> None:
    delivery = replace(
        run.delivery,
        status="retrying",
        attempts=run.delivery.attempts + 1,
        due_at=next_at,
        first_attempt_at=first,
    )
    log.info("delivery will be retried", extra={"delivery_id": delivery.id})
    lease_until = next_at + tools.lease
    if run.queued:
        await tools.queue.reschedule(delivery.id, next_at, lease_until)
    else:
        await tools.queue.add([_entry(delivery, scheduler.owner, tools.lease)])
    if run.stored:
        await tools.deliveries.reschedule(delivery, error=outcome.error)
    else:
        await tools.deliveries.add_one(delivery)
    again = Attempt(delivery, lease_until=lease_until)
    scheduler.at(delivery.id, next_at, _attempt_later(again, tools, scheduler))


async def _fail(
    run: Attempt, error: str, started: datetime, tools: DeliveryTools, scheduler: Scheduler
) -> None:
    await tools.dead_letters.park(run.delivery, error)
    await finish(run, "failed", error, at=started, tools=tools, scheduler=scheduler)
    log.warning(
        "delivery failed",
        extra={"delivery_id": run.delivery.id, "channel": run.delivery.channel},
    )


async def finish(
    run: Attempt,
    status: str,
    reason: str | None,
    *,
    at: datetime,
    tools: DeliveryTools,
    scheduler: Scheduler,
) -> None:
    """Store the final outcome, publish it, then drop the delivery's queue entry."""
    settled = closed(run.delivery, status, reason, at)
    if run.stored:
        await tools.deliveries.settle(settled)
    elif not await tools.deliveries.add_one(settled):
        stored = await tools.deliveries.get(settled.id)  # recorded meanwhile: that one counts
        settled = stored if stored is not None else settled
    await announce([settled], tools=tools)
    if run.queued:
        await tools.queue.remove(settled.id)
        scheduler.settled(settled.id)


async def resume(entry: QueueEntry, *, tools: DeliveryTools, scheduler: Scheduler) -> None:
    """Carry on with a delivery taken over from the queue (its owner died or let it go)."""
    delivery = await tools.deliveries.get(entry.id)
    if delivery is None:
        # The record may still come (its job is being redelivered) or never will (a crash
        # right after the entry was written): look again after the lease, then drop it.
        if entry.created_at is not None and entry.created_at < utcnow() - ORPHAN_GRACE:
            await tools.queue.remove(entry.id)
        scheduler.settled(entry.id)
        return
    if delivery.status in FINAL_STATUSES:
        await announce([delivery], tools=tools)  # settled, but maybe never published
        await tools.queue.remove(entry.id)
        scheduler.settled(entry.id)
        return
    run = Attempt(delivery, lease_until=entry.lease_until)
    scheduler.at(entry.id, delivery.due_at, _attempt_later(run, tools, scheduler))
