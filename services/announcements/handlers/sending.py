"""Sending an announcement: resolving its recipients, storing it once, publishing it."""

from dataclasses import dataclass

from services.announcements import events
from services.announcements.domain import (
    Draft,
    NewAnnouncement,
    Receipt,
    Recipients,
    announcement_id_for,
    check_all_known,
    check_recipient_count,
)
from services.announcements.ports import (
    AnnouncementsPort,
    ClientsPort,
    OutboxPort,
    RateLimitPort,
)
from shared.events.base import Event
from shared.outbox import Document

# The outbox intent recorded before an announcement is stored (ref: its `id`).
PUBLISH_INTENT = "announcement"


@dataclass(frozen=True)
class Sending:
    """The use cases of sending announcements, bound to their ports by the composition root."""

    clients: ClientsPort
    announcements: AnnouncementsPort
    outbox: OutboxPort
    limit: RateLimitPort
    max_recipients: int
    per_part: int

    async def preview(self, practice_id: str, recipients: Recipients) -> int:
        """How many clients an announcement would reach, validated exactly as sending would."""
        return len(await self.resolve(practice_id, recipients))

    async def send(self, cmd: NewAnnouncement) -> Receipt:
        """Store an announcement with its resolved recipients and publish it, once per key.

        A new announcement spends one of the practice's (RateLimited once they are spent); a
        repeated idempotency key returns the first one without spending.
        """
        existing = await self.announcements.find_receipt(cmd.author_id, cmd.idempotency_key)
        if existing is not None:
            return existing
        ids = await self.resolve(cmd.practice_id, cmd.recipients)
        await self.limit.acquire(cmd.practice_id)
        return await self._store(cmd.draft(ids))

    async def resolve(self, practice_id: str, recipients: Recipients) -> tuple[str, ...]:
        """The client ids an announcement goes to; blocks play no part (direct messages only)."""
        if recipients.all_clients:
            check_recipient_count(await self.clients.count_active(practice_id), self.max_recipients)
            ids = await self.clients.active_ids(practice_id)
        else:
            ids = recipients.chosen(self.max_recipients)
            check_all_known(ids, await self.clients.known(practice_id, ids))
        check_recipient_count(len(ids), self.max_recipients)
        return ids

    async def recover(self, ref: Document) -> list[Event]:
        """The events of an announcement whose writer stopped before publishing (if stored)."""
        publication = await self.announcements.publication(ref["id"])
        return events.published_events(publication, self.per_part) if publication else []

    async def _store(self, draft: Draft) -> Receipt:
        """Insert then publish; the intent recorded first sees the events out after a crash."""
        announcement_id = announcement_id_for(draft.author_id, draft.idempotency_key)
        intent = await self.outbox.intend(PUBLISH_INTENT, id=announcement_id)
        stored = await self.announcements.insert(announcement_id, draft)
        if stored is None:  # a concurrent request with the same key stored it first
            self.outbox.discard(intent)
            existing = await self.announcements.find_receipt(draft.author_id, draft.idempotency_key)
            if existing is None:  # pragma: no cover - the unique index just said it exists
                raise LookupError("an idempotency key is taken but no announcement holds it")
            return existing
        await self.outbox.publish_soon(intent, events.published_events(stored, self.per_part))
        return stored.receipt()
