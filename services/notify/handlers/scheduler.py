"""The scheduler: queued deliveries (delayed emails, retries, abandoned attempts) get their turn."""

import asyncio
import logging

from services.notify.dispatcher import Dispatcher
from services.notify.handlers.delivery import DeliveryTools, announce, attempt
from services.notify.store.deliveries import FINAL_STATUSES, QueueEntry
from shared.clock import utcnow

log = logging.getLogger(__name__)

OPEN_STATUSES = ("pending", "retrying")
BATCH = 200


async def _work(entry: QueueEntry, *, owner: str, tools: DeliveryTools) -> None:
    delivery = await tools.deliveries.get(entry.delivery_id)
    if delivery is None:
        await tools.deliveries.drop_orphan(entry)
        return
    if delivery.status in FINAL_STATUSES:
        await announce(delivery, tools=tools)  # settled, but the outcome was never published
        return
    lease_until = await tools.deliveries.claim(entry, delivery.attempts, owner, tools.lease)
    if lease_until is None:
        return
    # Re-read after claiming: another instance may have settled this attempt meanwhile.
    fresh = await tools.deliveries.get(delivery.id)
    if fresh is None or fresh.status not in OPEN_STATUSES or fresh.attempts != delivery.attempts:
        return
    await attempt(fresh, lease_until=lease_until, tools=tools)


async def run_due(*, owner: str, tools: DeliveryTools, dispatcher: Dispatcher) -> int:
    """Work on every due queue entry this process can claim; returns how many were due."""
    due = await tools.deliveries.due(utcnow(), limit=BATCH)
    await dispatcher.run([_work(entry, owner=owner, tools=tools) for entry in due])
    return len(due)


async def run_scheduler(
    *, owner: str, tools: DeliveryTools, dispatcher: Dispatcher, interval: float
) -> None:
    """Poll the queue for the life of the process."""
    while True:
        found = 0
        try:
            found = await run_due(owner=owner, tools=tools, dispatcher=dispatcher)
        except Exception:
            log.warning("scheduler pass failed; will retry", exc_info=True)
        if found < BATCH:
            await asyncio.sleep(interval)
