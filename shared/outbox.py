"""Store-then-publish without losing the publish.

A document that changes writes `pending=True` and a fresh `rev` in the same single
document write as the change. Its events are derived from the document itself, with
event ids stable per revision, so publishing twice is harmless: consumers deduplicate.
After publishing, the document is marked published only if it still has that `rev`.
The relay republishes whatever stayed pending (a crash between store and publish).
"""

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping
from datetime import timedelta
from typing import Any

from shared.clock import utcnow
from shared.events.base import Event
from shared.ids import new_id
from shared.kafka import EventPublisher

log = logging.getLogger(__name__)

Document = Mapping[str, Any]
Derive = Callable[[Document], Awaitable[list[Event]]]


def pending_update() -> dict[str, Any]:
    """Fields to `$set` alongside any change whose events must be published."""
    return {"pending": True, "rev": new_id(), "changed_at": utcnow()}


class Outbox:
    """Publishes the events of pending documents of one collection."""

    def __init__(
        self,
        collection: Any,
        derive: Derive,
        publisher: EventPublisher,
        *,
        grace: timedelta = timedelta(seconds=5),
        batch_size: int = 200,
        inline_timeout: float = 2.0,
    ) -> None:
        self._collection = collection
        self._derive = derive
        self._publisher = publisher
        self._grace = grace
        self._batch_size = batch_size
        self._inline_timeout = inline_timeout

    async def ensure_indexes(self) -> None:
        """The relay's scan index."""
        await self._collection.create_index(
            [("pending", 1), ("changed_at", 1)], name="outbox_pending"
        )

    async def publish(self, document: Document) -> None:
        """Publish a document's events and mark that revision published."""
        await self._publisher.publish_all(await self._derive(document))
        await self._collection.update_one(
            {"_id": document["_id"], "rev": document["rev"]}, {"$set": {"pending": False}}
        )

    async def publish_soon(self, document: Document) -> bool:
        """Publish right after a write, but never fail or stall the write for it.

        The change is already durable with its pending marker: if the broker does not
        answer in time, the relay publishes it later. Returns True when published now.
        """
        try:
            await asyncio.wait_for(self.publish(document), self._inline_timeout)
        except Exception as error:  # any failure leaves the work to the relay
            log.warning(
                "inline publish failed; the relay will publish",
                extra={"doc_id": str(document.get("_id")), "error_type": type(error).__name__},
            )
            return False
        return True

    async def relay_once(self) -> int:
        """Publish every document left pending for longer than the grace period."""
        cutoff = utcnow() - self._grace
        cursor = self._collection.find({"pending": True, "changed_at": {"$lt": cutoff}})
        published = 0
        async for document in cursor.limit(self._batch_size):
            await self.publish(document)
            published += 1
        if published:
            log.info("outbox relayed", extra={"count": published})
        return published

    async def run(self, interval: float = 1.0) -> None:
        """Relay forever; errors are logged and retried on the next tick."""
        while True:
            try:
                await self.relay_once()
            except Exception:
                log.warning("outbox relay failed; will retry", exc_info=True)
            await asyncio.sleep(interval)
