"""A client's announcements: listing, reading, and marking them read."""

from dataclasses import dataclass

from services.announcements.domain import AnnouncementNotFound, InboxItem, Page
from services.announcements.ports import AnnouncementsPort, OutboxPort, ReadMarksPort
from shared.events.base import Event
from shared.outbox import Document

# The outbox intent recorded before a read mark is stored (ref: announcement and client).
READ_INTENT = "announcement_read"


@dataclass(frozen=True)
class Inbox:
    """What recipients see of announcements, bound to their ports by the composition root."""

    announcements: AnnouncementsPort
    reads: ReadMarksPort
    outbox: OutboxPort

    async def page(
        self, practice_id: str, client_id: str, *, after: str | None, limit: int
    ) -> Page[InboxItem]:
        """Announcements addressed to the client, newest first, with their read state."""
        page = await self.announcements.addressed_to(
            practice_id, client_id, after=after, limit=limit
        )
        ids = [a.announcement_id for a in page.items]
        read = await self.reads.read_among(client_id, ids) if ids else set()
        return Page([InboxItem(a, a.announcement_id in read) for a in page.items], page.next_after)

    async def get(self, announcement_id: str, practice_id: str, client_id: str) -> InboxItem:
        """One announcement addressed to the client."""
        found = await self.announcements.get_addressed_to(announcement_id, practice_id, client_id)
        if found is None:
            raise AnnouncementNotFound(announcement_id)
        read = await self.reads.read_among(client_id, [announcement_id])
        return InboxItem(found, announcement_id in read)

    async def mark_read(self, announcement_id: str, practice_id: str, client_id: str) -> None:
        """Mark an announcement read by one of its recipients, counting them once (idempotent).

        The mark and the reader's slot in the count are two writes: the intent recorded
        first lets the recovery finish the count if the process stops between them.
        """
        if not await self.announcements.is_addressed_to(announcement_id, practice_id, client_id):
            raise AnnouncementNotFound(announcement_id)
        intent = await self.outbox.intend(
            READ_INTENT, announcement_id=announcement_id, client_id=client_id
        )
        start = await self.reads.claim_start(announcement_id)
        if not await self.reads.insert_mark(announcement_id, client_id, start):
            # Counted by whoever inserted it (or by the recovery of their intent).
            self.outbox.discard(intent)
            return
        await self.reads.claim(announcement_id, client_id, start)
        await self.outbox.publish(intent, [])

    async def recover_mark(self, ref: Document) -> list[Event]:
        """Finish counting a mark whose writer stopped between the mark and its slot."""
        announcement_id, client_id = ref["announcement_id"], ref["client_id"]
        start = await self.reads.claim_from(announcement_id, client_id)
        if start is not None:
            await self.reads.claim(announcement_id, client_id, start, recovering=True)
        return []
