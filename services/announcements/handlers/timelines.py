"""The lists by author and by recipient, kept from the announcements' own events."""

from dataclasses import dataclass

from services.announcements.ports import AnnouncementsPort
from shared.events.announcements import AnnouncementPublished


@dataclass(frozen=True)
class Listing:
    """What the consumer of `messaging.announcements.v1` records, bound by the composition root."""

    announcements: AnnouncementsPort

    async def record_published(
        self, events: list[AnnouncementPublished], partitions: list[int]
    ) -> None:
        """List each published announcement once (each event from a partition of its topic).

        Every part of an announcement comes on its partition; its first part lists it.
        """
        await self.announcements.list_published(
            [
                (e.announcement_id, partition)
                for e, partition in zip(events, partitions, strict=True)
                if e.part == 1
            ]
        )
