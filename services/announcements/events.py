"""Events derived from stored announcements, for the outbox (ids stable per revision)."""

from services.announcements.domain import Publication
from shared.events.announcements import AnnouncementPublished
from shared.events.base import Event
from shared.ids import stable_uuid


def published_events(publication: Publication, per_part: int) -> list[Event]:
    """An announcement's published parts: every recipient, at most `per_part` a part, no text."""
    parts = publication.parts(per_part)
    return [
        AnnouncementPublished(
            event_id=stable_uuid(publication.announcement_id, publication.revision, number),
            occurred_at=publication.created_at,
            announcement_id=publication.announcement_id,
            practice_id=publication.practice_id,
            author_id=publication.author_id,
            part=number,
            parts=len(parts),
            recipient_count=publication.recipient_count,
            recipient_ids=ids,
        )
        for number, ids in enumerate(parts, start=1)
    ]
