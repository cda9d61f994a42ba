"""Per-participant thread state: read, unread, archive, and the red dot."""

from dataclasses import dataclass
from typing import Any

from services.threads import events
from services.threads.domain import Participant, ThreadNotFound, View
from services.threads.handlers.threads import visible_thread
from services.threads.ports import (
    AccessPort,
    InboxesPort,
    MessagesPort,
    OutboxPort,
    ThreadsPort,
    ViewsPort,
)
from services.threads.store.views import view_id


@dataclass(frozen=True)
class ThreadStates:
    """The use cases of a participant's state of a thread, bound to their stores."""

    threads: ThreadsPort
    views: ViewsPort
    messages: MessagesPort
    audit: AccessPort
    outbox: OutboxPort
    inboxes: InboxesPort

    async def mark_read(self, who: Participant, thread_id: str) -> None:
        """Everything up to the thread's latest message is read."""
        view = await self._view(who, thread_id)
        last = await self.messages.last_seq(thread_id, view.last_seq)
        read = {"unread": False, "read_seq": last, "own_after_read": 0, "last_seq": last}
        await self._change(who, thread_id, read, "thread.read")
        # A message stored while we wrote must not be swallowed by this read.
        newer = await self.messages.at(thread_id, last + 1)
        if newer is not None and newer["sender_id"] != who.id:
            await self.views.on_received(thread_id, who.id, newer["seq"], newer["created_at"])

    async def mark_unread(self, who: Participant, thread_id: str) -> None:
        """Come back later: unread from the other party's latest message on."""
        view = await self._view(who, thread_id)
        last = await self.messages.last_seq(thread_id, view.last_seq)
        fields = {**view.marked_unread(last), "last_seq": last}
        await self._change(who, thread_id, fields, "thread.unread")

    async def set_archived(self, who: Participant, thread_id: str, archived: bool) -> None:
        """Move the thread to the caller's archive, or back to their inbox."""
        await self._view(who, thread_id)
        action = "thread.archive" if archived else "thread.unarchive"
        await self._change(who, thread_id, {"archived": archived}, action)

    async def unread_threads(self, who: Participant) -> int:
        """The red dot: how many of the caller's threads are unread."""
        return await self.inboxes.unread_threads(who.id, who.practice_id)

    async def _view(self, who: Participant, thread_id: str) -> View:
        await visible_thread(thread_id, who, threads=self.threads, access=self.audit)
        view = await self.views.get(thread_id, who.id)
        if view is None:  # pragma: no cover - views are created with their thread
            raise ThreadNotFound(thread_id)
        return view

    async def _change(
        self, who: Participant, thread_id: str, fields: dict[str, Any], action: str
    ) -> None:
        intent = await self.outbox.intend("view", id=view_id(thread_id, who.id))
        doc = await self.views.set_state(thread_id, who.id, fields)
        if doc is None:  # pragma: no cover - checked just before
            self.outbox.discard(intent)
            raise ThreadNotFound(thread_id)
        await self.audit.record(who, action, thread_id)
        if await self.outbox.publish_soon(intent, events.inbox_events(doc)):
            # The caller's own change shows in their thread list when this request ends.
            await self.inboxes.wait_for(who.id, thread_id, doc["changed_at"])
