"""The recovery sweep: queued work whose owner died (its lease ran out) gets a new owner.

It runs once at start (also taking back what this instance owned before a restart) and
then every sweep interval. It is the only reader of the queue that is not by `_id`, and
the queue holds open work only, so at rest it reads next to nothing.
"""

import asyncio
import logging

from services.notify.handlers import delivery, parts
from services.notify.handlers.delivery import DeliveryTools
from services.notify.handlers.scheduler import Scheduler
from services.notify.store.queue import SWEEP_BATCH
from shared.clock import utcnow

log = logging.getLogger(__name__)


async def sweep(*, tools: DeliveryTools, scheduler: Scheduler, at_start: bool = False) -> int:
    """Take over every claimable entry; returns how many this process took."""
    taken = 0
    owned_by = scheduler.owner if at_start else None
    while not scheduler.stopping:
        now = utcnow()
        found = await tools.queue.claimable(now, owned_by=owned_by)
        owned_by = None  # own entries are claimed (and leased) by the first pass
        before = taken
        for entry in found:
            if scheduler.holds(entry.id):
                continue
            lease_until = max(entry.due_at, now) + tools.lease
            claimed = await tools.queue.claim(entry, scheduler.owner, lease_until)
            if claimed is None:
                continue
            taken += 1
            if claimed.kind == "part":
                await parts.resume(claimed, tools=tools, scheduler=scheduler)
            else:
                await delivery.resume(claimed, tools=tools, scheduler=scheduler)
        if len(found) < SWEEP_BATCH or taken == before:
            break
    if taken:
        log.info("queued work taken over", extra={"count": taken})
    return taken


async def sweep_forever(*, tools: DeliveryTools, scheduler: Scheduler, interval: float) -> None:
    """Sweep every `interval` seconds for the life of the process."""
    while not scheduler.stopping:
        await asyncio.sleep(interval)
        try:
            await sweep(tools=tools, scheduler=scheduler)
        except Exception:
            log.warning("recovery sweep failed; will retry", exc_info=True)
