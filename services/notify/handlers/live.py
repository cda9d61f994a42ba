"""Live events for connected browsers: ids and counts only, replayable after a reconnect."""

from collections.abc import AsyncGenerator
from dataclasses import dataclass

from services.notify.domain import LiveEvent
from services.notify.ports import LiveEventsPort, LiveHubPort
from shared.batching import each_in_order

# Users whose events are stored at the same time (a user's own events go one by one).
STORE_CONCURRENCY = 16


@dataclass(frozen=True)
class LiveFeed:
    """This process's hub plus the shared store that lets streams catch up."""

    hub: LiveHubPort
    events: LiveEventsPort

    def emit(self, *events: LiveEvent) -> None:
        """Hand events to the open streams of this process (every instance emits all)."""
        for event in events:
            self.hub.publish(event)

    async def keep(self, *events: LiveEvent) -> None:
        """Store events for replay (by the one consumer that owns their partition): each
        user's in order, different users' side by side."""
        await each_in_order(
            events,
            key=lambda event: event.user_id,
            run=self.events.add,
            concurrency=STORE_CONCURRENCY,
        )

    async def stream(
        self, user_id: str, last_event_id: str | None
    ) -> AsyncGenerator[LiveEvent, None]:
        """What a stream shows: missed events after `last_event_id`, then live ones."""
        with self.hub.subscribe(user_id) as queue:
            replayed: set[str] = set()
            if last_event_id:
                for event in await self.events.after(user_id, last_event_id):
                    replayed.add(event.id)
                    yield event
            while True:
                event = await queue.get()
                if event.id not in replayed:
                    yield event
