"""Live events for connected browsers: ids and counts only, replayable after a reconnect."""

from collections.abc import AsyncIterator

from services.notify.channels.live import LiveHub
from services.notify.domain import LiveEvent
from services.notify.store.live_events import LiveEvents
from shared.events.threads import MessageSent, ThreadStateChanged


class LiveFeed:
    """This process's hub plus the shared store that lets streams catch up."""

    def __init__(self, hub: LiveHub, events: LiveEvents) -> None:
        self.hub = hub
        self.events = events

    async def emit(self, event: LiveEvent) -> None:
        """Hand the event to open streams here, then keep it for replay (once, by any process)."""
        self.hub.publish(event)
        await self.events.add(event)

    async def stream(self, user_id: str, last_event_id: str | None) -> AsyncIterator[LiveEvent]:
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


async def message_arrived(event: MessageSent, *, feed: LiveFeed) -> None:
    """Tell the recipient's open streams that a message arrived (no body, no names)."""
    await feed.emit(
        LiveEvent(
            id=f"{event.event_id}:message",
            user_id=event.recipient_id,
            kind="message",
            data={"thread_id": event.thread_id, "seq": event.seq, "message_id": event.message_id},
            occurred_at=event.occurred_at,
        )
    )


async def unread_changed(event: ThreadStateChanged, *, feed: LiveFeed) -> None:
    """Move the participant's live red dot."""
    await feed.emit(
        LiveEvent(
            id=f"{event.event_id}:unread",
            user_id=event.participant_id,
            kind="unread",
            data={"unread_threads": event.unread_threads},
            occurred_at=event.occurred_at,
        )
    )
