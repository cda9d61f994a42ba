"""HTTP routes of the announcements service; they map domain errors to HTTP and nothing more."""

import asyncio
from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Response
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    field_validator,
    model_validator,
)

from services.announcements import handlers
from services.announcements.deps import Deps, DepsDep
from services.announcements.domain import (
    MAX_RECIPIENTS,
    Announcement,
    AnnouncementNotFound,
    InboxItem,
    NewAnnouncement,
    Recipients,
    RecipientsRejected,
    Stats,
)
from shared.audit import audited
from shared.auth import CurrentCaller, Role, require_role
from shared.pagination import MAX_LIMIT, decode_cursor, encode_cursor
from shared.problems import ProblemSpec

router = APIRouter(prefix="/v1", tags=["announcements"])

MAX_BODY = 10_000
MAX_SUBJECT = 200
ClientId = Annotated[str, StringConstraints(min_length=1, max_length=200)]
Limit = Annotated[int, Query(ge=1, le=MAX_LIMIT)]

_REJECTIONS = {
    "unknown_recipients": "Some recipients are not clients of your practice.",
    "no_recipients": "The announcement has no recipients.",
    "too_many_recipients": "The announcement has more recipients than allowed.",
}


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


PROBLEMS: dict[type[Exception], ProblemSpec] = {
    RecipientsRejected: ProblemSpec(
        422,
        lambda error: str(getattr(error, "code", "invalid_recipients")),
        "Invalid recipients",
        lambda error: _REJECTIONS.get(
            str(getattr(error, "code", "")), "The recipients are not valid."
        ),
    ),
    AnnouncementNotFound: ProblemSpec(404, "not_found", "Not found", "No such announcement."),
}


def _after(cursor: str | None) -> str | None:
    position = decode_cursor(cursor)
    after = position.get("k") if position else None
    return after if isinstance(after, str) else None


def _next_cursor(found: list[Announcement], limit: int) -> str | None:
    return encode_cursor({"k": found[limit - 1].sort_key}) if len(found) > limit else None


def _stats(stats: Stats) -> StatsOut:
    return StatsOut(
        recipients=stats.recipients,
        delivered=stats.delivered,
        notified=stats.notified,
        failed=stats.failed,
        read=stats.read,
    )


async def _summary(a: Announcement, deps: Deps) -> SummaryOut:
    stats = await handlers.announcement_stats(a, stats=deps.stats, reads=deps.reads)
    return SummaryOut(
        announcement_id=a.announcement_id,
        subject=a.subject,
        created_at=a.created_at,
        recipient_count=a.recipient_count,
        stats=_stats(stats),
    )


def _inbox_item(item: InboxItem) -> InboxItemOut:
    a = item.announcement
    return InboxItemOut(
        announcement_id=a.announcement_id,
        subject=a.subject,
        body=a.body,
        created_at=a.created_at,
        read=item.read,
    )


@router.post(
    "/announcements",
    status_code=202,
    dependencies=[audited("announcement.create", "announcement")],
)
async def send_announcement(
    payload: AnnouncementIn, caller: CurrentCaller, deps: DepsDep
) -> CreatedOut:
    """Send one message to many clients of the practice."""
    require_role(caller, Role.PROVIDER)
    cmd = NewAnnouncement(
        practice_id=caller.practice_id,
        author_id=caller.id,
        idempotency_key=payload.idempotency_key,
        body=payload.body,
        subject=payload.subject,
        recipients=payload.recipients.to_domain(),
    )
    receipt = await handlers.send_announcement(
        cmd,
        clients=deps.clients,
        announcements=deps.announcements,
        max_recipients=deps.max_recipients,
        limit=deps.send_limit,
    )
    return CreatedOut(
        announcement_id=receipt.announcement_id, recipient_count=receipt.recipient_count
    )


@router.post(
    "/announcements/preview", dependencies=[audited("announcement.preview", "announcement")]
)
async def preview_announcement(
    payload: PreviewIn, caller: CurrentCaller, deps: DepsDep
) -> PreviewOut:
    """How many clients an announcement would reach ("about to send to N clients")."""
    require_role(caller, Role.PROVIDER)
    count = await handlers.preview_recipients(
        caller.practice_id,
        payload.recipients.to_domain(),
        clients=deps.clients,
        max_recipients=deps.max_recipients,
    )
    return PreviewOut(recipient_count=count)


@router.get("/announcements", dependencies=[audited("announcement.list", "announcement")])
async def list_announcements(
    caller: CurrentCaller, deps: DepsDep, limit: Limit = 20, cursor: str | None = None
) -> SummaryPage:
    """The caller's announcements, newest first, with their stats."""
    require_role(caller, Role.PROVIDER)
    found = await handlers.list_sent(
        caller.practice_id,
        caller.id,
        after=_after(cursor),
        limit=limit + 1,
        announcements=deps.announcements,
    )
    items = await asyncio.gather(*(_summary(a, deps) for a in found[:limit]))
    return SummaryPage(items=list(items), next_cursor=_next_cursor(found, limit))


@router.get(
    "/announcements/{announcement_id}",
    dependencies=[audited("announcement.view", "announcement", "announcement_id")],
)
async def get_announcement(
    announcement_id: str, caller: CurrentCaller, deps: DepsDep
) -> AnnouncementOut:
    """One of the caller's announcements with its body and stats (404 for anyone else)."""
    found = await handlers.get_sent(
        announcement_id, caller.practice_id, caller.id, announcements=deps.announcements
    )
    summary = await _summary(found, deps)
    return AnnouncementOut(**summary.model_dump(), body=found.body, author_id=found.author_id)


@router.get("/me/announcements", dependencies=[audited("announcement.inbox", "announcement")])
async def list_my_announcements(
    caller: CurrentCaller, deps: DepsDep, limit: Limit = 20, cursor: str | None = None
) -> InboxPage:
    """Announcements addressed to the calling client, newest first."""
    require_role(caller, Role.CLIENT)
    found = await handlers.list_inbox(
        caller.practice_id,
        caller.id,
        after=_after(cursor),
        limit=limit + 1,
        announcements=deps.announcements,
        reads=deps.reads,
    )
    return InboxPage(
        items=[_inbox_item(i) for i in found[:limit]],
        next_cursor=_next_cursor([i.announcement for i in found], limit),
    )


@router.get(
    "/me/announcements/{announcement_id}",
    dependencies=[audited("announcement.read", "announcement", "announcement_id")],
)
async def get_my_announcement(
    announcement_id: str, caller: CurrentCaller, deps: DepsDep
) -> InboxItemOut:
    """One announcement addressed to the calling client."""
    require_role(caller, Role.CLIENT)
    item = await handlers.get_inbox_item(
        announcement_id,
        caller.practice_id,
        caller.id,
        announcements=deps.announcements,
        reads=deps.reads,
    )
    return _inbox_item(item)


@router.post(
    "/me/announcements/{announcement_id}/read",
    status_code=204,
    dependencies=[audited("announcement.mark_read", "announcement", "announcement_id")],
)
async def mark_announcement_read(
    announcement_id: str, caller: CurrentCaller, deps: DepsDep
) -> Response:
    """Mark an announcement read (idempotent)."""
    require_role(caller, Role.CLIENT)
    await handlers.mark_read(
        announcement_id,
        caller.practice_id,
        caller.id,
        announcements=deps.announcements,
        reads=deps.reads,
    )
    return Response(status_code=204)
