"""HTTP routes of the providers who send announcements: send, preview, and their stats."""

from fastapi import APIRouter

from services.announcements.api.pages import PageQueryDep, next_cursor
from services.announcements.api.schemas import (
    AnnouncementIn,
    AnnouncementOut,
    CreatedOut,
    PreviewIn,
    PreviewOut,
    SummaryPage,
    announcement_out,
    summary_out,
)
from services.announcements.deps import DepsDep
from services.announcements.domain import NewAnnouncement
from shared.audit import audited
from shared.auth import CurrentCaller, Role, require_role

router = APIRouter(prefix="/v1", tags=["announcements"])


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
    receipt = await deps.sending.send(
        NewAnnouncement(
            practice_id=caller.practice_id,
            author_id=caller.id,
            idempotency_key=payload.idempotency_key,
            body=payload.body,
            subject=payload.subject,
            recipients=payload.recipients.to_domain(),
        )
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
    count = await deps.sending.preview(caller.practice_id, payload.recipients.to_domain())
    return PreviewOut(recipient_count=count)


@router.get("/announcements", dependencies=[audited("announcement.list", "announcement")])
async def list_announcements(
    caller: CurrentCaller, deps: DepsDep, query: PageQueryDep
) -> SummaryPage:
    """The caller's announcements, newest first, with their stats."""
    require_role(caller, Role.PROVIDER)
    page = await deps.sent.page(caller.practice_id, caller.id, after=query.after, limit=query.limit)
    return SummaryPage(
        items=[summary_out(i) for i in page.items], next_cursor=next_cursor(page.next_after)
    )


@router.get(
    "/announcements/{announcement_id}",
    dependencies=[audited("announcement.view", "announcement", "announcement_id")],
)
async def get_announcement(
    announcement_id: str, caller: CurrentCaller, deps: DepsDep
) -> AnnouncementOut:
    """One of the caller's announcements with its body and stats (404 for anyone else)."""
    item = await deps.sent.get(announcement_id, caller.practice_id, caller.id)
    return announcement_out(item)
