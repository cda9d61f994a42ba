"""A job's deliveries (the Jobs, Attempts and Outcomes use cases) on in-memory fakes."""

import asyncio
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime, timedelta

from services.notify.domain import (
    Attempt,
    ClientContact,
    Delivery,
    Job,
    Permanent,
    Preferences,
    Profile,
    PushResult,
    QueueEntry,
    ReadPosition,
    Sent,
    Transient,
    new_delivery,
)
from services.notify.events import recorded_event
from shared.clock import utcnow
from tests.unit.notify.world import LEASE, OWNER, World, until


def message_job(recipient: str = "c-1", seq: int = 3) -> Job:
    """A direct message's job for a client."""
    return Job("direct_message", f"m-{recipient}-{seq}", "pr-1", recipient, "client", "t-1", seq)


async def test_a_message_is_pushed_with_the_recipients_red_dot_and_recorded(world: World) -> None:
    world.users.add_device("c-1", "tok-1")
    world.reads.states[("t-1", "c-1")] = ReadPosition(read_seq=1, unread_threads=4)
    job = message_job()

    await world.jobs.accept(job)
    push = await world.settled(job, "push")

    assert push.status == "sent"
    [request] = world.push.requests
    assert (request.unread, request.tokens) == (4, ["tok-1"])
    assert recorded_event(push).event_id in {e.event_id for e in world.publisher.events}


async def test_a_recipient_without_devices_is_skipped_at_once_without_queueing(
    world: World,
) -> None:
    world.mailer.script.append(Sent())
    job = message_job()

    await world.jobs.accept(job)
    push = await world.record(job, "push")

    assert push is not None and (push.status, push.reason) == ("skipped", "no_device")
    assert push.id not in world.queue.entries
    assert world.push.requests == []
    assert ("push", "skipped", "no_device") in world.recorded()


async def test_a_messages_email_waits_for_its_delay_and_goes_if_still_unread(
    make_world: Callable[..., World],
) -> None:
    world = make_world(email_delay=timedelta(milliseconds=50))
    world.clients.contacts["c-1"] = ClientContact("c-1", "pr-1", "c1@x.org", active=True)
    job = message_job()

    await world.jobs.accept(job)
    waiting = await world.record(job, "email")
    assert waiting is not None and waiting.status == "pending"
    assert waiting.id in world.queue.entries  # queued until its delay is over
    assert world.mailer.sent == []
    email = await world.settled(job, "email")

    assert email.status == "sent"
    assert world.mailer.sent == [("c1@x.org", "https://portal.test/threads/t-1")]


async def test_work_due_past_the_timer_horizon_is_parked_then_looked_up_by_id(
    make_world: Callable[..., World],
) -> None:
    world = make_world(
        email_delay=timedelta(milliseconds=300), timer_horizon=timedelta(milliseconds=100)
    )
    world.clients.contacts["c-1"] = ClientContact("c-1", "pr-1", "c1@x.org", active=True)
    job = message_job()

    await world.jobs.accept(job)
    waiting = await world.record(job, "email")
    assert waiting is not None and waiting.status == "pending"
    assert world.scheduler.holds(waiting.id)  # still this instance's: no sweep takes it
    assert world.scheduler.parked == 1  # but no timer of its own yet
    assert await world.recovery.sweep() == 0

    email = await world.settled(job, "email")
    assert email.status == "sent"
    assert world.scheduler.parked == 0
    assert world.mailer.sent == [("c1@x.org", "https://portal.test/threads/t-1")]


async def test_after_a_restart_its_own_waits_are_parked_again_without_a_claim(
    make_world: Callable[..., World],
) -> None:
    before = make_world(email_delay=timedelta(minutes=15), timer_horizon=timedelta(seconds=60))
    before.clients.contacts["c-1"] = ClientContact("c-1", "pr-1", "c1@x.org", active=True)
    await before.jobs.accept(message_job())
    after = make_world(
        timer_horizon=timedelta(seconds=60), queue=before.queue, deliveries=before.deliveries
    )

    assert await after.recovery.sweep(at_start=True) == 1

    assert after.scheduler.parked == 1
    assert after.queue.claims == set()  # no write: it is still this instance's entry


async def test_a_parked_entry_another_instance_took_over_is_let_go(
    make_world: Callable[..., World],
) -> None:
    world = make_world(email_delay=timedelta(milliseconds=300), timer_horizon=timedelta(0))
    world.clients.contacts["c-1"] = ClientContact("c-1", "pr-1", "c1@x.org", active=True)
    job = message_job()
    await world.jobs.accept(job)
    waiting = await world.record(job, "email")
    assert waiting is not None and world.scheduler.parked == 1
    entry = world.queue.entries[waiting.id]
    world.queue.entries[waiting.id] = replace(entry, owner="other", gen=entry.gen + 1)

    async def let_go() -> bool | None:
        return None if world.scheduler.holds(waiting.id) else True

    await until(let_go)

    assert world.mailer.sent == []
    assert world.queue.entries[waiting.id].owner == "other"


async def test_a_messages_email_is_skipped_when_read_during_the_delay(
    make_world: Callable[..., World],
) -> None:
    world = make_world(email_delay=timedelta(milliseconds=50))
    world.clients.contacts["c-1"] = ClientContact("c-1", "pr-1", "c1@x.org", active=True)
    job = message_job(seq=3)

    await world.jobs.accept(job)
    world.reads.states[("t-1", "c-1")] = ReadPosition(read_seq=3)
    email = await world.settled(job, "email")

    assert (email.status, email.reason) == ("skipped", "read")
    assert world.mailer.sent == []


async def test_a_redelivered_job_is_not_attempted_again(world: World) -> None:
    world.users.add_device("c-1", "tok-1")
    job = message_job()

    await world.jobs.accept(job)
    await world.settled(job, "push")
    await world.jobs.accept(job)
    await world.settled(job, "email")

    assert len(world.push.requests) == 1
    assert world.queue.entries == {}


async def test_a_transient_failure_is_retried_until_sent(world: World) -> None:
    world.users.add_device("c-1", "tok-1")
    down = PushResult(Transient("gateway answered 503"), [])
    world.push.script += [down, down]
    job = message_job()

    await world.jobs.accept(job)
    push = await world.settled(job, "push")

    assert (push.status, push.attempts) == ("sent", 2)
    assert len(world.push.requests) == 3
    assert world.dead_letters.parked == []


async def test_a_permanent_failure_parks_the_job_and_fails_the_record(world: World) -> None:
    world.users.add_device("c-1", "tok-1")
    world.push.script.append(PushResult(Permanent("gateway answered 400"), []))
    job = message_job()

    await world.jobs.accept(job)
    push = await world.settled(job, "push")

    assert (push.status, push.reason) == ("failed", "gateway answered 400")
    assert [(d.id, e) for d, e in world.dead_letters.parked] == [(push.id, "gateway answered 400")]
    assert ("push", "failed", "gateway answered 400") in world.recorded()


async def test_failures_past_the_retry_window_give_up(make_world: Callable[..., World]) -> None:
    world = make_world(retry_window=0.05)
    world.users.add_device("c-1", "tok-1")
    world.push.script += [PushResult(Transient("down"), [])] * 1000
    job = message_job()

    await world.jobs.accept(job)
    push = await world.settled(job, "push")

    assert (push.status, push.reason) == ("failed", "down")
    assert len(world.dead_letters.parked) == 1


async def test_devices_the_gateway_rejects_are_forgotten(world: World) -> None:
    world.users.add_device("c-1", "tok-gone")
    world.users.add_device("c-1", "tok-ok")
    world.push.script.append(PushResult(Sent(), ["tok-gone"]))
    job = message_job()

    await world.jobs.accept(job)
    push = await world.settled(job, "push")

    assert push.status == "sent"
    assert [d.token for d in (await world.users.profile("c-1")).devices] == ["tok-ok"]


async def test_an_opted_out_recipient_gets_no_email(world: World) -> None:
    world.users.prefs["c-1"] = Preferences(email=False)
    world.clients.contacts["c-1"] = ClientContact("c-1", "pr-1", "c1@x.org", active=True)
    job = message_job()

    await world.jobs.accept(job)
    email = await world.settled(job, "email")

    assert (email.status, email.reason) == ("skipped", "opted_out")
    assert world.mailer.sent == []


async def test_a_provider_without_an_own_address_gets_no_email(world: World) -> None:
    job = Job("direct_message", "m-p", "pr-1", "p-1", "provider", "t-1", 1)

    await world.jobs.accept(job)
    email = await world.settled(job, "email")

    assert (email.status, email.reason) == ("skipped", "no_address")
    assert world.clients.lookups == 0  # providers are not in the client directory


async def test_an_announcement_job_lands_in_the_inbox_once(world: World) -> None:
    job = Job("announcement", "a-1", "pr-1", "c-1", "client")

    await world.jobs.accept(job)
    await world.jobs.accept(job)
    inbox = await world.record(job, "inbox")

    assert inbox is not None and inbox.status == "delivered"
    assert world.recorded().count(("inbox", "delivered", None)) == 1


def entry_of(delivery: Delivery, *, created: datetime) -> QueueEntry:
    """A queue entry taken over from a dead owner."""
    return replace(QueueEntry.for_delivery(delivery, OWNER, LEASE, created), gen=1)


async def test_a_resumed_pending_delivery_is_attempted(world: World) -> None:
    world.users.add_device("c-1", "tok-1")
    job = message_job()
    push = new_delivery(job, "push", utcnow())
    await world.deliveries.add([push])
    await world.queue.add([entry := entry_of(push, created=utcnow())])

    await world.jobs.resume(entry)

    assert (await world.settled(job, "push")).status == "sent"


async def test_an_attempt_too_late_in_its_lease_is_claimed_again_once_the_lease_is_over(
    world: World,
) -> None:
    world.users.add_device("c-1", "tok-1")
    job = message_job()
    push = new_delivery(job, "push", utcnow())
    await world.deliveries.add([push])
    lease_until = utcnow() + timedelta(milliseconds=200)
    entry = replace(entry_of(push, created=utcnow()), lease_until=lease_until)
    await world.queue.add([entry])
    world.scheduler.hold(entry.id, push.due_at)
    # The lease ends within the attempts' margin (30 s): no time to finish it safely.
    late = Attempt(push, lease_until=lease_until)

    assert await world.attempts.attempt(late) is False
    assert world.scheduler.parked == 1  # looked at again when the lease is over
    assert world.push.requests == []

    assert (await world.settled(job, "push")).status == "sent"
    assert world.queue.claims == {f"{entry.id}#{entry.gen}"}  # claimed anew, not just run


async def test_a_resumed_settled_delivery_is_published_again_and_its_entry_goes(
    world: World,
) -> None:
    job = message_job()
    push = new_delivery(job, "push", utcnow()).closed("sent", None, utcnow())
    await world.deliveries.add([push])
    await world.queue.add([entry := entry_of(push, created=utcnow())])

    await world.jobs.resume(entry)

    assert [e.event_id for e in world.publisher.events] == [recorded_event(push).event_id]
    assert world.queue.entries == {}
    assert world.push.requests == []


async def test_an_entry_without_a_record_is_dropped_only_once_orphaned(world: World) -> None:
    push = new_delivery(message_job(), "push", utcnow())
    recent = entry_of(push, created=utcnow() - timedelta(minutes=1))
    await world.queue.add([recent])

    await world.jobs.resume(recent)
    assert push.id in world.queue.entries  # its record may still come (a redelivered job)

    await world.jobs.resume(replace(recent, created_at=utcnow() - timedelta(minutes=6)))
    assert push.id not in world.queue.entries


async def test_a_batch_of_jobs_runs_recipients_side_by_side_and_each_ones_in_order(
    world: World,
) -> None:
    for recipient in ("c-1", "c-2"):
        world.users.add_device(recipient, f"tok-{recipient}")
    c1_first_waits = asyncio.Event()
    looked_up: list[str] = []
    profile = world.users.profile

    async def slow_for_c1(user_id: str) -> Profile:
        looked_up.append(user_id)
        if user_id == "c-1" and looked_up.count("c-1") == 1:
            await c1_first_waits.wait()  # held until c-2's job has been looked up
        return await profile(user_id)

    world.users.profile = slow_for_c1  # type: ignore[method-assign]
    jobs = [message_job("c-1", 3), message_job("c-1", 4), message_job("c-2", 3)]

    async def c2_looked_up() -> bool | None:
        return "c-2" in looked_up or None

    accepting = asyncio.create_task(world.jobs.accept_all(jobs))
    await until(c2_looked_up)
    assert looked_up == ["c-1", "c-2"]  # c-1's second job waits for its first
    c1_first_waits.set()
    await accepting

    for job in jobs:
        assert (await world.settled(job, "push")).status == "sent"
