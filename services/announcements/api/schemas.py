"""Request and response bodies of the announcements API, and how domain objects fill them."""

from datetime import datetime
from typing import Annotated, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    field_validator,
    model_validator,
)

from services.announcements.domain import MAX_RECIPIENTS, InboxItem, Recipients, SentItem

MAX_BODY = 10_000
MAX_SUBJECT = 200
ClientId = Annotated[str, StringConstraints(min_length=1, max_length=200)]


class RecipientsIn(BaseModel):
    """Exactly one of: chosen clients, or every active client of the practice."""

    model_config = ConfigDict(extra="forbid")

    client_ids: list[ClientId] | None = Field(default=None, max_length=MAX_RECIPIENTS)
    all_clients: Literal[True] | None = None

    @model_validator(mode="after")
    def _exactly_one(self) -> "RecipientsIn":
        if (self.client_ids is None) == (self.all_clients is None):
            raise ValueError("give exactly one of client_ids or all_clients")
        return self

    def to_domain(self) -> Recipients:
        """The recipients as the domain describes them."""
        return Recipients(
            client_ids=tuple(self.client_ids or ()), all_clients=bool(self.all_clients)
        )


class PreviewIn(BaseModel):
    """Whom an announcement would reach."""

    model_config = ConfigDict(extra="forbid")

    recipients: RecipientsIn


class AnnouncementIn(BaseModel):
    """A new announcement."""

    model_config = ConfigDict(extra="forbid")

    body: str = Field(min_length=1, max_length=MAX_BODY)
    subject: str | None = Field(default=None, max_length=MAX_SUBJECT)
    recipients: RecipientsIn
    idempotency_key: str = Field(min_length=1, max_length=200)

    @field_validator("body")
    @classmethod
    def _not_blank(cls, body: str) -> str:
        if not body.strip():
            raise ValueError("body must not be blank")
        return body


class CreatedOut(BaseModel):
    """The accepted announcement."""

    announcement_id: str
    recipient_count: int


class PreviewOut(BaseModel):
    """How many clients an announcement would reach."""

    recipient_count: int


class StatsOut(BaseModel):
    """Distinct recipients at each stage."""

    recipients: int
    delivered: int
    notified: int
    failed: int
    read: int


class SummaryOut(BaseModel):
    """An announcement in its author's list."""

    announcement_id: str
    subject: str | None
    created_at: datetime
    recipient_count: int
    stats: StatsOut


class AnnouncementOut(SummaryOut):
    """An announcement as its author sees it."""

    body: str
    author_id: str


class SummaryPage(BaseModel):
    """A page of the author's announcements."""

    items: list[SummaryOut]
    next_cursor: str | None


class InboxItemOut(BaseModel):
    """An announcement as a recipient sees it."""

    announcement_id: str
    subject: str | None
    body: str
    created_at: datetime
    read: bool


class InboxPage(BaseModel):
    """A page of a client's announcements."""

    items: list[InboxItemOut]
    next_cursor: str | None


def summary_out(item: SentItem) -> SummaryOut:
    """The response shape of an announcement in its author's list."""
    a, s = item.announcement, item.stats
    return SummaryOut(
        announcement_id=a.announcement_id,
        subject=a.subject,
        created_at=a.created_at,
        recipient_count=a.recipient_count,
        stats=StatsOut(
            recipients=s.recipients,
            delivered=s.delivered,
            notified=s.notified,
            failed=s.failed,
            read=s.read,
        ),
    )


def announcement_out(item: SentItem) -> AnnouncementOut:
    """The response shape of one announcement as its author sees it, body included."""
    a = item.announcement
    return AnnouncementOut(**summary_out(item).model_dump(), body=a.body, author_id=a.author_id)


def inbox_item_out(item: InboxItem) -> InboxItemOut:
    """The response shape of an announcement as a recipient sees it."""
    a = item.announcement
    return InboxItemOut(
        announcement_id=a.announcement_id,
        subject=a.subject,
        body=a.body,
        created_at=a.created_at,
        read=item.read,
    )
