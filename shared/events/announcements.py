"""Events the announcements service publishes (`messaging.announcements.v1`)."""

from typing import ClassVar

from pydantic import Field

from shared import topics
from shared.events.base import Event

RECIPIENTS_PER_PART = 1000


class AnnouncementPublished(Event):
    """One part of an announcement's recipient list (parts keep events small).

    Carries neither subject nor body: notifications never show content.
    """

    TOPIC: ClassVar[str] = topics.MESSAGING_ANNOUNCEMENTS
    TYPE: ClassVar[str] = "messaging.announcement.published"
    KEY_FIELD: ClassVar[str] = "announcement_id"

    announcement_id: str
    practice_id: str
    author_id: str
    part: int = Field(ge=1)
    parts: int = Field(ge=1)
    recipient_count: int = Field(ge=0)
    recipient_ids: list[str] = Field(max_length=RECIPIENTS_PER_PART)
