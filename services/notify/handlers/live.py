"""Live events for connected browsers: ids and counts only, replayable after a reconnect."""

from collections.abc import AsyncGenerator
from dataclasses import dataclass

from services.notify.domain import LiveEvent
from services.notify.ports import LiveEventsPort, LiveHubPort


@dataclass(frozen=True)
class LiveFeed:
    """This process's hub plus the shared store that lets streams catch up."""

    hub: LiveHubPort
    events: LiveEventsPort

    async def emit(self, event: LiveEvent) -> None:
        """Hand the event to open streams here, then keep it for replay (once, by any process)."""
        self.hub.publish(event)
        await self.events.add(event)

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
