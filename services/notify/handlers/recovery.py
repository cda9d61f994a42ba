"""Recovery: queued work whose owner died or stopped gets a new owner; parked work wakes.

Every instance renews a heartbeat (one `_id` write every few tens of seconds) and reads
the others' (a handful of documents). The queue itself is looked through only when that
is worth it: at start (taking back what this instance owned before a restart), when
another instance's heartbeat has run out (all its work is taken at once, whatever its
leases say), and as a slow backstop for work nobody holds. So at rest the database is
not asked to scan anything.
"""

import asyncio
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta

from services.notify.domain import QueueEntry
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

    async def sweep(self, *, at_start: bool = False, dead: Sequence[str] = ()) -> int:
        """Take over every claimable entry; returns how many this process took."""
        taken = 0
        owned_by = self.scheduler.owner if at_start else None
        after: str | None = None
        while not self.scheduler.stopping:
            now = utcnow()
            found = await self.queue.claimable(now, owned_by=owned_by, dead=dead, after=after)
            for entry in found:
                if self.scheduler.holds(entry.id):
                    continue
                if entry.owner == self.scheduler.owner and entry.lease_until > now:
                    # Its own from before a restart: no claim needed now; it is looked up
                    # by `_id` when due, and claimed then only if its lease has run out.
                    self.scheduler.adopt(entry.id, entry.due_at)
                    taken += 1
                    continue
                lease_until = entry.takeover_lease(now, self.lease)
                claimed = await self.queue.claim(entry, self.scheduler.owner, lease_until)
                if claimed is None:
                    continue
                taken += 1
                await self._resume(claimed)
            if len(found) < self.batch:
                break
            after = found[-1].id
        if taken:
            log.info("queued work taken over", extra={"count": taken})
        return taken

    async def revive(self, entry_id: str) -> None:
        """A parked entry woke: carry on with it, if it is still this instance's to run."""
        entry = await self.queue.get(entry_id)
        now = utcnow()
        mine = entry is not None and entry.owner == self.scheduler.owner
        if entry is None or (not mine and entry.lease_until > now):
            self.scheduler.let_go(entry_id)  # settled meanwhile, or another instance has it
            return
        if not mine or entry.lease_until <= now:
            claimed = await self.queue.claim(
                entry, self.scheduler.owner, entry.takeover_lease(now, self.lease)
            )
            if claimed is None:
                self.scheduler.let_go(entry_id)
                return
            entry = claimed
        await self._resume(entry)

    async def _resume(self, entry: QueueEntry) -> None:
        if entry.kind == "part":
            await self.parts.resume(entry)
        else:
            await self.jobs.resume(entry)

    async def watch(self, *, every: float, sweep_every: float) -> None:
        """Sweep at start; then every `every` seconds renew this instance's heartbeat and
        sweep for the work of instances whose heartbeat ran out, and at least every
        `sweep_every` seconds sweep anyway (work nobody holds: written by an instance
        that never beat, or let go by one that is alive).

        In the background: a start with thousands of deliveries due (say, every email of a
        busy hour after an outage) must not hold up readiness while they are delivered.
        """
        loop = asyncio.get_running_loop()
        owner = self.scheduler.owner
        swept_at: float | None = None
        while not self.scheduler.stopping:
            try:
                now = utcnow()
                await self.queue.beat(owner, now + self.lease)
                dead = [i for i in await self.queue.gone(now) if i != owner]
                if swept_at is None or dead or loop.time() - swept_at >= sweep_every:
                    await self.sweep(at_start=swept_at is None, dead=dead)
                    if self.scheduler.stopping:
                        break  # the sweep stopped midway: keep looking for the gone ones
                    for instance in dead:
                        await self.queue.forget(instance)
                    if dead:
                        log.info(
                            "took over the work of stopped instances", extra={"instances": dead}
                        )
                    swept_at = loop.time()
            except Exception:
                log.warning("recovery sweep failed; will retry", exc_info=True)
            await asyncio.sleep(every)
