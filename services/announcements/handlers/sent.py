"""An author's sent announcements, each with its stats."""

import asyncio
from dataclasses import dataclass

from services.announcements.domain import Announcement, AnnouncementNotFound, Page, SentItem
from services.announcements.ports import AnnouncementsPort, DeliveryCountsPort, ReadMarksPort


@dataclass(frozen=True)
class SentAnnouncements:
    """What authors see of their announcements, bound to their ports by the composition root."""

    announcements: AnnouncementsPort
    counts: DeliveryCountsPort
    reads: ReadMarksPort

    async def page(
        self, practice_id: str, author_id: str, *, after: str | None, limit: int
    ) -> Page[SentItem]:
        """The author's announcements, newest first, with their stats."""
        page = await self.announcements.by_author(practice_id, author_id, after=after, limit=limit)
        items = await asyncio.gather(*(self.with_stats(a) for a in page.items))
        return Page(list(items), page.next_after)

    async def get(self, announcement_id: str, practice_id: str, author_id: str) -> SentItem:
        """One of the author's announcements; anyone else's does not exist for them."""
        found = await self.announcements.get(announcement_id)
        if found is None or not found.is_by(practice_id, author_id):
            raise AnnouncementNotFound(announcement_id)
        return await self.with_stats(found)

    async def with_stats(self, announcement: Announcement) -> SentItem:
        """Exact counts of distinct recipients, read from the counts kept as outcomes arrive."""
        tally = await self.counts.tally(announcement.announcement_id)
        read = await self.reads.count(announcement.announcement_id)
        return SentItem(announcement, announcement.stats(tally, read))
