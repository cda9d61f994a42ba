"""The inbox projection: apply view snapshots per participant, announce state changes."""

import asyncio
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from services.threads import events
from services.threads.domain import display_name_or_default
from services.threads.ports import ClientsPort, ProfilesPort, ViewsPort
from services.threads.store.inbox import InboxStore, count_unread
from services.threads.store.views import view_id
from shared.events.base import Event
from shared.events.threads import InboxEntryChanged
from shared.kafka import EventPublisher

_STATE = ("unread", "archived")


def _state_changed(before: dict[str, Any] | None, after: dict[str, Any]) -> bool:
    """What a participant is shown (unread, archived) differs from before."""
    before = before or {}
    return any(bool(before.get(k)) != bool(after.get(k)) for k in _STATE)


@dataclass(frozen=True)
class Inboxes:
    """Keeps every participant's inbox; the only writer of the inboxes collection."""

    inboxes: InboxStore
    publisher: EventPublisher
    clients: ClientsPort
    profiles: ProfilesPort
    views: ViewsPort

    def forget_written(self) -> None:
        """The consumer's partitions changed: read every inbox before its next write."""
        self.inboxes.forget_written()

    async def apply(self, changes: list[InboxEntryChanged]) -> None:
        """Apply a batch of snapshots, one write per participant, then publish what changed.

        A redelivered batch changes nothing and republishes the same state events (same
        event ids), so consumers see each state once.
        """
        by_participant: dict[str, list[InboxEntryChanged]] = defaultdict(list)
        for change in changes:
            by_participant[change.participant_id].append(change)
        found = await asyncio.gather(
            *(self._apply_one(p, group) for p, group in by_participant.items())
        )
        await self.publisher.publish_all([event for events_ in found for event in events_])

    async def _names_now(self, change: InboxEntryChanged) -> list[Event]:
        """A new thread in a participant's inbox: the other side's view shows the
        participant's name as it is now.

        A rename shows the new name in the views its party's inbox lists (`rename_other`);
        a thread created a moment before is listed only once its entry arrives here, so
        this catches up the name the rename could not reach.
        """
        if change.participant_role == "provider":
            name = await self.profiles.display_name(change.participant_id)
            names = {"other_display_name": display_name_or_default(name)}
        else:
            client = await self.clients.get(change.practice_id, change.participant_id)
            if client is None:
                return []
            names = {"other_first_name": client.first_name, "other_last_name": client.last_name}
        counterpart = view_id(change.thread_id, change.other_id)
        shown = await self.views.by_id(counterpart)
        if shown is None or all(shown.get(k, "") == v for k, v in names.items()):
            return []
        renamed = await self.views.rename_other([counterpart], names)
        return [e for view in renamed for e in events.inbox_events(view)]

    async def _apply_one(
        self, participant_id: str, changes: list[InboxEntryChanged]
    ) -> list[Event]:
        replaced, entries = await self.inboxes.apply(participant_id, changes)
        latest: dict[str, InboxEntryChanged] = {c.thread_id: c for c in changes}
        states: list[Event] = []
        for thread_id in [t for t, before in replaced.items() if before is None]:
            states += await self._names_now(latest[thread_id])
        for thread_id, change in latest.items():
            stored = entries.get(thread_id)
            if stored is None or stored["revision"] != change.revision:
                continue  # a newer snapshot is stored: its own event announces it
            if thread_id in replaced and not _state_changed(replaced[thread_id], stored):
                continue
            unread = count_unread(entries, change.practice_id)
            states.append(events.state_event(change, unread))
        return states
