"""HTTP routes of the clients who receive announcements: their inbox and read marks."""

from fastapi import APIRouter, Response

from services.announcements.api.pages import PageQueryDep, next_cursor
from services.announcements.api.schemas import InboxItemOut, InboxPage, inbox_item_out
from services.announcements.deps import DepsDep
from shared.audit import audited
from shared.auth import CurrentCaller, Role, require_role

router = APIRouter(prefix="/v1", tags=["announcements"])


@router.get("/me/announcements", dependencies=[audited("announcement.inbox", "announcement")])
async def list_my_announcements(
    caller: CurrentCaller, deps: DepsDep, query: PageQueryDep
) -> InboxPage:
    """Announcements addressed to the calling client, newest first."""
    require_role(caller, Role.CLIENT)
    page = await deps.inbox.page(
        caller.practice_id, caller.id, after=query.after, limit=query.limit
    )
    return InboxPage(
        items=[inbox_item_out(i) for i in page.items], next_cursor=next_cursor(page.next_after)
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
    return inbox_item_out(await deps.inbox.get(announcement_id, caller.practice_id, caller.id))


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
    await deps.inbox.mark_read(announcement_id, caller.practice_id, caller.id)
    return Response(status_code=204)
