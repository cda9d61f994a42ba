"""Announcement parts (the Parts use case) and the recovery sweep, on in-memory fakes."""

import asyncio
from collections.abc import Callable
from datetime import datetime, timedelta

from services.notify.domain import (
    Channel,
    ClientContact,
    Delivery,
    Job,
    Part,
    Preferences,
    PushResult,
    QueueEntry,
    Transient,
    new_delivery,
    part_entry_id,
)
from shared.clock import utcnow
from tests.unit.notify.world import LEASE, OWNER, World, until


def part_of(recipients: list[str]) -> Part:
    return Part("a-1", "pr-1", 1, tuple(recipients))


async def entry_gone(world: World, entry_id: str) -> bool | None:
    return True if entry_id not in world.queue.entries else None


async def test_a_parts_pushes_go_fifty_recipients_to_a_request(world: World) -> None:
    recipients = [f"c-{i}" for i in range(120)]
    for r in recipients:
        world.users.add_device(r, f"tok-{r}")
    part = part_of(recipients)

    await world.parts.accept(part)
    await until(lambda: entry_gone(world, part_entry_id(part)))

    assert [len(r.tokens) for r in world.push.requests] == [50, 50, 20]
    assert all(r.unread == 1 for r in world.push.requests)  # no red dot for announcements
    recorded = world.recorded()
    assert recorded.count(("inbox", "delivered", None)) == 120
    assert recorded.count(("push", "sent", None)) == 120
    assert recorded.count(("email", "skipped", "no_address")) == 120


async def test_a_parts_emails_go_to_each_recipients_address(world: World) -> None:
    world.clients.contacts["c-1"] = ClientContact("c-1", "pr-1", "c1@x.org", active=True)
    world.clients.contacts["c-2"] = ClientContact("c-2", "pr-1", "c2@x.org", active=False)
    world.users.prefs["c-3"] = Preferences(email_address="own@x.org")
    world.users.prefs["c-4"] = Preferences(email=False)
    part = part_of(["c-1", "c-2", "c-3", "c-4"])

    await world.parts.accept(part)
    await until(lambda: entry_gone(world, part_entry_id(part)))

    assert sorted(to for to, _ in world.mailer.sent) == ["c1@x.org", "own@x.org"]
    recorded = world.recorded()
    assert ("email", "skipped", "no_address") in recorded  # the inactive client
    assert ("email", "skipped", "opted_out") in recorded


async def test_a_part_accepted_twice_is_fanned_out_once(world: World) -> None:
    world.users.add_device("c-1", "tok-1")
    part = part_of(["c-1"])

    await world.parts.accept(part)
    await world.parts.accept(part)
    await until(lambda: entry_gone(world, part_entry_id(part)))

    assert len(world.push.pushes_to("tok-1")) == 1


async def test_a_push_batch_that_fails_is_retried_one_recipient_at_a_time(world: World) -> None:
    for r in ("c-1", "c-2"):
        world.users.add_device(r, f"tok-{r}")
    world.push.script.append(PushResult(Transient("gateway answered 503"), []))
    part = part_of(["c-1", "c-2"])

    await world.parts.accept(part)
    for job in part.jobs():
        push = await world.settled(job, "push")
        assert (push.status, push.attempts) == ("sent", 1)

    assert [r.tokens for r in world.push.requests[1:]] in (
        [["tok-c-1"], ["tok-c-2"]],
        [["tok-c-2"], ["tok-c-1"]],
    )


async def test_a_failed_batchs_retries_are_queued_for_whoever_takes_them_over(
    make_world: Callable[..., World],
) -> None:
    world = make_world(retry_base=60.0, retry_window=300.0)  # retries wait seconds here
    for r in ("c-1", "c-2"):
        world.users.add_device(r, f"tok-{r}")
    world.push.script.append(PushResult(Transient("gateway answered 503"), []))
    part = part_of(["c-1", "c-2"])

    await world.parts.accept(part)
    await until(lambda: entry_gone(world, part_entry_id(part)))

    for job in part.jobs():
        push = await world.record(job, "push")
        assert push is not None and (push.status, push.attempts) == ("retrying", 1)
        entry = world.queue.entries[push.id]
        assert (entry.owner, entry.due_at) == (OWNER, push.due_at)


async def test_the_sweep_finishes_a_dead_instances_part_without_pushing_anyone_twice(
    world: World,
) -> None:
    for r in ("c-done", "c-midway"):
        world.users.add_device(r, f"tok-{r}")
    part = part_of(["c-done", "c-midway"])
    done, midway = part.jobs()
    now = utcnow()
    # The dead run recorded the first recipient's deliveries and the second one's inbox.
    await world.deliveries.add(
        [
            new.closed(status, reason, now)
            for new, status, reason in (
                (_new(done, "inbox"), "delivered", None),
                (_new(done, "push"), "sent", None),
                (_new(done, "email"), "skipped", "no_address"),
                (_new(midway, "inbox"), "delivered", None),
            )
        ]
    )
    dead = QueueEntry.for_part(part, "dead-instance", LEASE, now - 2 * LEASE)
    await world.queue.add([dead])

    assert await world.recovery.sweep() == 1
    await until(lambda: entry_gone(world, dead.id))

    assert world.push.pushes_to("tok-c-done") == []
    assert len(world.push.pushes_to("tok-c-midway")) == 1
    # What the dead run stored is published again (it may have died before publishing).
    assert world.recorded().count(("push", "sent", None)) == 2


async def test_the_sweep_leaves_work_whose_owner_still_holds_its_lease(world: World) -> None:
    part = part_of(["c-1"])
    await world.queue.add([QueueEntry.for_part(part, "alive", LEASE, utcnow())])

    assert await world.recovery.sweep() == 0
    assert world.queue.entries[part_entry_id(part)].owner == "alive"


async def test_at_start_the_sweep_takes_back_this_instances_own_work(
    make_world: Callable[..., World],
) -> None:
    world = make_world()
    world.users.add_device("c-1", "tok-1")
    part = part_of(["c-1"])
    await world.queue.add([QueueEntry.for_part(part, OWNER, LEASE, utcnow())])

    assert await world.recovery.sweep(at_start=True) == 1
    await until(lambda: entry_gone(world, part_entry_id(part)))

    assert len(world.push.pushes_to("tok-1")) == 1


async def test_a_gone_instances_work_is_taken_at_once_whatever_its_leases(world: World) -> None:
    for r in ("c-1", "c-2"):
        world.users.add_device(r, f"tok-{r}")
    now = utcnow()
    gone, alive = part_of(["c-1"]), Part("a-2", "pr-1", 1, ("c-2",))
    # Both leases run for an hour; only the first owner's heartbeat has ended.
    await world.queue.add(
        [
            QueueEntry.for_part(gone, "stopped", timedelta(hours=1), now),
            QueueEntry.for_part(alive, "alive", timedelta(hours=1), now),
        ]
    )
    world.queue.instances.update(stopped=now, alive=now + timedelta(hours=1))
    watching = asyncio.create_task(world.recovery.watch(every=0.01, sweep_every=3600))
    try:
        await until(lambda: entry_gone(world, part_entry_id(gone)))
        # The start sweep and the next looks have run: what the live owner holds stays its own.
        await until(lambda: _beats_after(world, now))
    finally:
        world.scheduler.stopping = True
        await watching

    assert len(world.push.pushes_to("tok-c-1")) == 1
    assert world.push.pushes_to("tok-c-2") == []
    assert world.queue.entries[part_entry_id(alive)].owner == "alive"
    assert set(world.queue.instances) == {"alive", OWNER}  # the stopped one is forgotten


async def _beats_after(world: World, since: datetime) -> bool | None:
    """Two heartbeats of this instance since `since` (a look after the takeover)."""
    beats = world.queue.beats.count(OWNER)
    return True if beats >= 2 and world.queue.instances[OWNER] > since else None


async def test_a_stop_releases_work_due_soon_and_keeps_later_work(
    make_world: Callable[..., World],
) -> None:
    # The release horizon is the lease (2 minutes): an email due in 1 is handed over.
    due_soon = make_world(email_delay=timedelta(minutes=1))
    due_later = make_world(email_delay=timedelta(minutes=5))
    for world in (due_soon, due_later):
        await world.jobs.accept(_message("c-1"))

    await due_soon.scheduler.stop(0)
    await due_later.scheduler.stop(0)

    [released] = due_soon.queue.entries.values()
    [kept] = due_later.queue.entries.values()
    assert released.owner is None and released.lease_until <= utcnow()
    assert kept.owner == OWNER  # due after the release horizon: not released one by one,
    # but the heartbeat says this instance is gone, so another takes it all at its next look
    assert due_later.queue.instances[OWNER] <= utcnow()


def _new(job: Job, channel: Channel) -> Delivery:
    return new_delivery(job, channel, utcnow())


def _message(recipient: str) -> Job:
    return Job("direct_message", f"m-{recipient}", "pr-1", recipient, "client", "t-1", 1)
