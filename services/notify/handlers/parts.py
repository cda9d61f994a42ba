"""Announcement fan-out, one part (up to 1,000 clients) at a time, in batches.

A part is queued as one entry (its recipients inside, a bounded document), so a crash
anywhere is resumed from the queue. Its deliveries are planned from each recipient's
profile and directory address (lookups by `_id`, many at once); every record that is
final at once (the inbox, nothing to send) goes out in one unordered bulk insert, whose
duplicates tell a replayed part from a new one. Pushes (a batch of recipients' devices
per gateway request) and emails then run concurrently under the process's send limit,
over one pooled keep-alive client; each outcome is stored (group-committed inserts) and
then published. When all are settled the part's entry goes.
"""

import asyncio
import logging
from collections.abc import Coroutine
from dataclasses import dataclass, field
from typing import Any

from services.notify.domain import (
    FINAL_STATUSES,
    Delivery,
    Job,
    Part,
    Profile,
    Sent,
    Skipped,
    closed,
    new_delivery,
    push_skip,
)
from services.notify.handlers.delivery import (
    Attempt,
    DeliveryTools,
    announce,
    attempt,
    email_address,
    push_notification_id,
    push_outcome,
    settle,
)
from services.notify.handlers.scheduler import Scheduler
from services.notify.store.queue import QueueEntry, part_entry_id
from shared.clock import utcnow
from shared.metrics import FANOUT_JOBS

log = logging.getLogger(__name__)

# Profile and address lookups in flight at once.
READ_CONCURRENCY = 32


@dataclass
class Plan:
    """What a part's recipients get: records final at once, and deliveries to attempt."""

    final: list[Delivery] = field(default_factory=list)
    to_send: list[Delivery] = field(default_factory=list)
    profiles: dict[str, Profile] = field(default_factory=dict)
    addresses: dict[str, str] = field(default_factory=dict)


async def accept_part(part: Part, *, tools: DeliveryTools, scheduler: Scheduler) -> None:
    """Queue the part (durable before the offset commits), then fan it out in the background.

    An entry that exists already is another run's: alive, it finishes the part; dead,
    the sweep takes the entry over once its lease runs out.
    """
    now = utcnow()
    entry = QueueEntry(
        id=part_entry_id(part),
        kind="part",
        owner=scheduler.owner,
        due_at=now,
        lease_until=now + tools.lease,
        created_at=now,
        part=part,
    )
    if await tools.queue.add([entry]):
        return
    FANOUT_JOBS.labels("announcement").inc(len(part.jobs()))
    scheduler.hold(entry.id, now)
    await scheduler.run_part(run_part(entry, tools=tools, scheduler=scheduler))


async def run_part(
    entry: QueueEntry, *, tools: DeliveryTools, scheduler: Scheduler, resumed: bool = False
) -> None:
    """Deliver a part to every recipient; the entry goes once every delivery is settled."""
    assert entry.part is not None
    renewing = asyncio.create_task(_renew(entry.id, tools))
    try:
        plan = await _plan(entry.part.jobs(), tools)
        to_send = await _record_final(plan, tools, resumed=resumed)
        if await _send_all(to_send, plan, tools, scheduler):
            await tools.queue.remove(entry.id)
            scheduler.settled(entry.id)
    finally:
        renewing.cancel()


async def _renew(entry_id: str, tools: DeliveryTools) -> None:
    """Keep the part's lease while it runs (a slow gateway can make a part take minutes)."""
    every = tools.lease.total_seconds() / 3
    while True:
        await asyncio.sleep(every)
        await tools.queue.renew(entry_id, utcnow() + tools.lease)


async def _plan(jobs: list[Job], tools: DeliveryTools) -> Plan:
    slots = asyncio.Semaphore(READ_CONCURRENCY)
    plan = Plan()

    async def one(job: Job) -> None:
        async with slots:
            profile = await tools.users.profile(job.recipient_id)
            address = await email_address(job, profile.prefs, tools)
        plan.profiles[job.recipient_id] = profile
        if address:
            plan.addresses[job.recipient_id] = address

    await asyncio.gather(*(one(job) for job in jobs))
    now = utcnow()
    for job in jobs:
        profile = plan.profiles[job.recipient_id]
        plan.final.append(closed(new_delivery(job, "inbox", now), "delivered", None, now))
        push = new_delivery(job, "push", now)
        skip = push_skip(profile)
        (plan.final if skip else plan.to_send).append(
            closed(push, "skipped", skip.reason, now) if skip else push
        )
        email = new_delivery(job, "email", now)
        if not profile.prefs.email:
            plan.final.append(closed(email, "skipped", "opted_out", now))
        elif job.recipient_id not in plan.addresses:
            plan.final.append(closed(email, "skipped", "no_address", now))
        else:
            plan.to_send.append(email)
    return plan


async def _record_final(plan: Plan, tools: DeliveryTools, *, resumed: bool) -> list[Delivery]:
    """Insert the records final at once and publish them; returns what is left to attempt.

    A recipient whose inbox record exists was delivered by an earlier run of this part.
    A resumed run also republishes what that run stored (it may have died before
    publishing) and attempts only what it left without a record.
    """
    existing = await tools.deliveries.add(plan.final)
    await announce([d for d in plan.final if d.id not in existing], tools=tools)
    if not resumed:
        done = {d.job.recipient_id for d in plan.final if d.id in existing and d.channel == "inbox"}
        return [d for d in plan.to_send if d.job.recipient_id not in done]
    earlier = await tools.deliveries.get_many(
        [d.id for d in plan.final if d.id in existing] + [d.id for d in plan.to_send]
    )
    await announce([d for d in earlier.values() if d.status in FINAL_STATUSES], tools=tools)
    return [d for d in plan.to_send if d.id not in earlier]


async def _send_all(
    to_send: list[Delivery], plan: Plan, tools: DeliveryTools, scheduler: Scheduler
) -> bool:
    """Attempt every delivery under the process's send limit; True once all are settled."""
    pushes = [d for d in to_send if d.channel == "push"]
    batches: list[list[Delivery]] = [
        pushes[i : i + tools.push_batch] for i in range(0, len(pushes), tools.push_batch)
    ]
    batches += [[d] for d in to_send if d.channel != "push"]
    tasks = []
    for batch in batches:
        if scheduler.stopping:
            break  # the rest is left to whoever resumes the part
        tasks.append(await scheduler.dispatcher.submit(_attempt(batch, plan, tools, scheduler)))
    results = await asyncio.gather(*tasks, return_exceptions=True)
    return len(tasks) == len(batches) and all(r is True for r in results)


def _attempt(
    batch: list[Delivery], plan: Plan, tools: DeliveryTools, scheduler: Scheduler
) -> Coroutine[Any, Any, bool]:
    first = batch[0]
    if len(batch) > 1:
        return _push_together(batch, plan, tools, scheduler)
    run = Attempt(first, lease_until=utcnow() + tools.lease, stored=False, queued=False)
    return attempt(
        run,
        tools=tools,
        scheduler=scheduler,
        profile=plan.profiles[first.job.recipient_id],
        address=plan.addresses.get(first.job.recipient_id),
    )


async def _push_together(
    batch: list[Delivery], plan: Plan, tools: DeliveryTools, scheduler: Scheduler
) -> bool:
    """Push several recipients' devices in one gateway request, then settle them together."""
    started = utcnow()
    profiles = [plan.profiles[d.job.recipient_id] for d in batch]
    devices = [device for profile in profiles for device in profile.devices]
    # Announcements are not counted in the red dot; every push of one shares its opaque id.
    result = await tools.push.send(push_notification_id(batch[0].job, batch[0].id), 1, devices)
    finals: list[Delivery] = []
    for delivery, profile in zip(batch, profiles, strict=True):
        outcome = await push_outcome(delivery, profile, result.outcome, result.rejected, tools)
        if isinstance(outcome, Sent | Skipped):
            status = "sent" if isinstance(outcome, Sent) else "skipped"
            reason = outcome.reason if isinstance(outcome, Skipped) else None
            finals.append(closed(delivery, status, reason, started))
        else:  # retried or failed one by one
            run = Attempt(delivery, lease_until=started + tools.lease, stored=False, queued=False)
            await settle(run, outcome, started=started, tools=tools, scheduler=scheduler)
    # One bulk insert and one batch of events for the batch's outcomes.
    existing = await tools.deliveries.add(finals)
    stored = await tools.deliveries.get_many(sorted(existing)) if existing else {}
    recorded = [stored.get(d.id, d) for d in finals]  # one recorded meanwhile counts
    await announce([d for d in recorded if d.status in FINAL_STATUSES], tools=tools)
    return True


async def resume(entry: QueueEntry, *, tools: DeliveryTools, scheduler: Scheduler) -> None:
    """Carry on with a part taken over from the queue (its owner died or let it go)."""
    scheduler.hold(entry.id, entry.due_at)
    await scheduler.run_part(run_part(entry, tools=tools, scheduler=scheduler, resumed=True))
