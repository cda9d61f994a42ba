"""Delivering jobs: open one record per channel, attempt it, settle the outcome exactly once."""

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from services.notify.channels.email import Mailer
from services.notify.channels.push import PushGateway
from services.notify.dead_letters import DeadLetters
from services.notify.dispatcher import Dispatcher
from services.notify.domain import (
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
    delivery_id,
    email_address_for,
    link_for,
    still_unread,
)
from services.notify.store.deliveries import Deliveries, recorded_event
from services.notify.store.projections import ClientEmails, ReadState
from services.notify.store.users import Users
from shared.clock import utcnow
from shared.events.base import Event
from shared.ids import stable_uuid
from shared.kafka import EventPublisher
from shared.metrics import DELIVERIES, count_deliveries

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class DeliveryTools:
    """The collaborators a delivery attempt uses."""

    deliveries: Deliveries
    users: Users
    clients: ClientEmails
    reads: ReadState
    push: PushGateway
    mailer: Mailer
    publisher: EventPublisher
    dead_letters: DeadLetters
    policy: RetryPolicy
    link_base_url: str
    email_delay: timedelta
    lease: timedelta
    # An attempt starts only if it can finish well within its lease.
    lease_margin: timedelta


async def accept_job(job: Job, *, tools: DeliveryTools, dispatcher: Dispatcher) -> None:
    """Record the job's deliveries (durable before the offset commits), then attempt them.

    A record that exists already means a redelivered job: that channel is not attempted again.
    Channels with nothing to send (no device, no address, opted out) are settled at once.
    """
    now = utcnow()
    profile = await tools.users.profile(job.recipient_id)
    settled_now: list[Event] = []
    for channel in job.channels():
        if channel == "inbox":
            # The announcement is in the client's inbox.
            inbox = await tools.deliveries.record(job, "inbox", "delivered")
            # A replayed job announces the inbox outcome again: harmless (same event id),
            # and it covers a crash between the insert and the publish.
            settled_now.append(recorded_event(inbox or _inbox_delivered(job)))
        elif channel == "email" and job.source == "direct_message":
            await tools.deliveries.open(job, "email", due_at=now + tools.email_delay)
        else:
            skip = await _nothing_to_send(job, channel, profile, tools)
            if skip is not None:
                settled = await tools.deliveries.record(job, channel, "skipped", skip.reason)
                if settled is not None:
                    settled_now.append(recorded_event(settled))
                continue
            lease_until = now + tools.lease
            delivery = await tools.deliveries.open(job, channel, due_at=lease_until)
            if delivery is not None:
                await dispatcher.submit(
                    attempt(delivery, lease_until=lease_until, tools=tools, profile=profile)
                )
    await tools.publisher.publish_all(settled_now)
    count_deliveries(settled_now)


def _inbox_delivered(job: Job) -> Delivery:
    return Delivery(
        id=delivery_id(job.source_id, job.recipient_id, "inbox"),
        job=job,
        channel="inbox",
        status="delivered",
        attempts=0,
        due_at=utcnow(),
    )


async def _nothing_to_send(
    job: Job, channel: str, profile: Profile, tools: DeliveryTools
) -> Skipped | None:
    if channel == "push":
        return _push_skip(profile)
    if channel == "email":
        if not profile.prefs.email:
            return Skipped("opted_out")
        if await _address(job, profile.prefs, tools) is None:
            return Skipped("no_address")
    return None


def _push_skip(profile: Profile) -> Skipped | None:
    if not profile.prefs.push:
        return Skipped("opted_out")
    if not profile.devices:
        return Skipped("no_device")
    return None


async def _address(job: Job, prefs: Preferences, tools: DeliveryTools) -> str | None:
    directory = (
        await tools.clients.email_of(job.practice_id, job.recipient_id)
        if job.recipient_role == "client" and prefs.email and not prefs.email_address
        else None
    )
    return email_address_for(job, prefs, directory)


async def attempt(
    delivery: Delivery,
    *,
    lease_until: datetime,
    tools: DeliveryTools,
    profile: Profile | None = None,
) -> None:
    """Try one delivery once and settle what happened."""
    started = utcnow()
    if started > lease_until - tools.lease_margin:
        return  # too late to finish within the lease: the scheduler takes it over
    profile = profile or await tools.users.profile(delivery.job.recipient_id)
    if delivery.channel == "push":
        outcome = await _push(delivery, profile, tools)
    elif delivery.channel == "email":
        outcome = await _email(delivery, profile, tools)
    else:
        outcome = Skipped("unsupported_channel")
    await settle(delivery, outcome, started=started, tools=tools)


async def _push(delivery: Delivery, profile: Profile, tools: DeliveryTools) -> Outcome:
    job = delivery.job
    skip = _push_skip(profile)
    if skip is not None:
        return skip
    unread = 1  # announcements are not counted in the red dot
    if job.source == "direct_message":
        unread = max(await tools.reads.unread_threads(job.recipient_id) or 0, 1)
    # Opaque to the gateway: the delivery id would name the recipient.
    result = await tools.push.send(str(stable_uuid(delivery.id, "push")), unread, profile.devices)
    if result.rejected:
        removed = await tools.users.remove_tokens(job.recipient_id, result.rejected)
        log.info("rejected pushkeys removed", extra={"delivery_id": delivery.id, "count": removed})
        if isinstance(result.outcome, Sent) and len(set(result.rejected)) >= len(profile.devices):
            return Skipped("rejected")
    return result.outcome


async def _email(delivery: Delivery, profile: Profile, tools: DeliveryTools) -> Outcome:
    job = delivery.job
    if job.source == "direct_message" and job.thread_id is not None:
        read_seq = await tools.reads.read_seq(job.thread_id, job.recipient_id)
        if not still_unread(read_seq, job.seq):
            return Skipped("read")
    if not profile.prefs.email:
        return Skipped("opted_out")
    address = await _address(job, profile.prefs, tools)
    if address is None:
        return Skipped("no_address")
    return await tools.mailer.send(address, link_for(job, tools.link_base_url))


async def settle(
    delivery: Delivery, outcome: Outcome, *, started: datetime, tools: DeliveryTools
) -> None:
    """Close the record (and publish DeliveryRecorded) or schedule the next attempt."""
    if isinstance(outcome, Sent):
        await finish(delivery, "sent", None, tools=tools)
    elif isinstance(outcome, Skipped):
        await finish(delivery, "skipped", outcome.reason, tools=tools)
    elif isinstance(outcome, Permanent):
        await _fail(delivery, outcome.error, tools)
    else:
        await _retry(delivery, outcome, started=started, tools=tools)


async def _retry(
    delivery: Delivery, outcome: Transient, *, started: datetime, tools: DeliveryTools
) -> None:
    first = delivery.first_attempt_at or started
    next_at = tools.policy.next_attempt(delivery.attempts, first, utcnow())
    if next_at is None:
        await _fail(delivery, outcome.error, tools)
        return
    log.info(
        "delivery will be retried",
        extra={"delivery_id": delivery.id, "attempt": delivery.attempts + 1},
    )
    await tools.deliveries.reschedule(
        delivery, due_at=next_at, first_attempt_at=first, error=outcome.error
    )


async def _fail(delivery: Delivery, error: str, tools: DeliveryTools) -> None:
    await tools.dead_letters.park(delivery, error)
    await finish(delivery, "failed", error, tools=tools)
    log.warning("delivery failed", extra={"delivery_id": delivery.id, "channel": delivery.channel})


async def finish(
    delivery: Delivery, status: str, reason: str | None, *, tools: DeliveryTools
) -> None:
    """Store the final outcome, publish it, then drop the record's queue entry."""
    settled = await tools.deliveries.settle(delivery, status, reason)
    await announce(settled, tools=tools)
    DELIVERIES.labels(delivery.channel, status).inc()


async def announce(settled: Delivery, *, tools: DeliveryTools) -> None:
    """Publish a settled record's DeliveryRecorded (idempotent) and close its queue entry."""
    await tools.publisher.publish(recorded_event(settled))
    await tools.deliveries.announced(settled)
