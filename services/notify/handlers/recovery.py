"""The recovery sweep: queued work whose owner died (its lease ran out) gets a new owner.

It runs once at start (also taking back what this instance owned before a restart) and
then every sweep interval. It is the only reader of the queue that is not by `_id`, and
the queue holds open work only, so at rest it reads next to nothing.
"""

import asyncio
import logging
from dataclasses import dataclass
from datetime import timedelta

from services.notify.handlers.jobs import Jobs
from services.notify.handlers.parts import Parts
from services.notify.handlers.scheduler import Scheduler
from services.notify.ports import QueuePort
from shared.clock import utcnow

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Recovery:
    """Takes over the queued work of dead (or restarted) instances."""

    queue: QueuePort
    jobs: Jobs
    parts: Parts
    scheduler: Scheduler
    lease: timedelta
    # Entries the queue hands out per pass: a full pass means there may be more.
    batch: int

    async def sweep(self, *, at_start: bool = False) -> int:
        """Take over every claimable entry; returns how many this process took."""
        taken = 0
        owned_by = self.scheduler.owner if at_start else None
        while not self.scheduler.stopping:
            now = utcnow()
            horizon = self.scheduler.timer_horizon
            due_soon = (self.scheduler.owner, now + horizon) if horizon is not None else None
            found = await self.queue.claimable(now, owned_by=owned_by, due_soon=due_soon)
            owned_by = None  # own entries are claimed (and leased) by the first pass
            before = taken
            for entry in found:
                if self.scheduler.holds(entry.id):
                    continue
                lease_until = entry.takeover_lease(now, self.lease)
                claimed = await self.queue.claim(entry, self.scheduler.owner, lease_until)
                if claimed is None:
                    continue
                taken += 1
                if claimed.kind == "part":
                    await self.parts.resume(claimed)
                else:
                    await self.jobs.resume(claimed)
            if len(found) < self.batch or taken == before:
                break
        if taken:
            log.info("queued work taken over", extra={"count": taken})
        return taken

    async def sweep_forever(self, interval: float) -> None:
        """Sweep at start (this instance's own entries first), then every `interval` seconds.

        In the background: a start with thousands of deliveries due (say, every email of a
        busy hour after an outage) must not hold up readiness while they are delivered.
        """
        at_start = True
        while not self.scheduler.stopping:
            try:
                await self.sweep(at_start=at_start)
                at_start = False
            except Exception:
                log.warning("recovery sweep failed; will retry", exc_info=True)
            await asyncio.sleep(interval)
