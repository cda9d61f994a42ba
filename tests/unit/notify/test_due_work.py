"""Notify reports the deliveries it holds: due now (`due_work`), due within a minute
(`soon_work`), and all (`held_work`)."""

from collections.abc import Callable
from datetime import timedelta

from services.notify.handlers.scheduler import Scheduler
from shared.clock import utcnow
from tests.unit.notify.world import World


async def test_due_work_counts_held_entries_due_now_not_later_ones(
    make_world: Callable[..., World],
) -> None:
    scheduler: Scheduler = make_world().scheduler
    now = utcnow()
    scheduler.hold("due-1", now - timedelta(seconds=1))
    scheduler.hold("due-2", now)
    scheduler.hold("soon", now + timedelta(seconds=5))
    scheduler.hold("later", now + timedelta(minutes=15))

    assert await scheduler.due_work() == 2
    assert await scheduler.soon_work() == 3
    assert await scheduler.held_work() == 4

    scheduler.settled("due-1")
    assert await scheduler.due_work() == 1
    assert await scheduler.soon_work() == 2
    assert await scheduler.held_work() == 3
