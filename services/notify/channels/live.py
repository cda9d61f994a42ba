"""The in-process hub: one queue per open stream, several per user (tabs)."""

import asyncio
import contextlib
from collections import defaultdict
from collections.abc import Iterator

from services.notify.domain import LiveEvent

QUEUE_LIMIT = 1000


class LiveHub:
    """Fans live events out to this process's connected streams."""

    def __init__(self) -> None:
        self._queues: dict[str, set[asyncio.Queue[LiveEvent]]] = defaultdict(set)

    @contextlib.contextmanager
    def subscribe(self, user_id: str) -> Iterator[asyncio.Queue[LiveEvent]]:
        """A queue receiving the user's events while the context is open."""
        queue: asyncio.Queue[LiveEvent] = asyncio.Queue(maxsize=QUEUE_LIMIT)
        self._queues[user_id].add(queue)
        try:
            yield queue
        finally:
            self._queues[user_id].discard(queue)
            if not self._queues[user_id]:
                del self._queues[user_id]

    def publish(self, event: LiveEvent) -> int:
        """Hand an event to every open stream of its user; a stalled stream drops it."""
        delivered = 0
        for queue in self._queues.get(event.user_id, ()):
            with contextlib.suppress(asyncio.QueueFull):
                queue.put_nowait(event)
                delivered += 1
        return delivered

    def connected(self, user_id: str) -> int:
        """How many streams the user has open here."""
        return len(self._queues.get(user_id, ()))
