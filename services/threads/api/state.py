"""HTTP routes of per-participant state: read, unread, archive and the red dot."""

from fastapi import APIRouter, Response
from pydantic import BaseModel

from services.threads.api.errors import participant
from services.threads.deps import DepsDep
from shared.auth import CurrentCaller

router = APIRouter(prefix="/v1")


class UnreadOut(BaseModel):
    """The red dot: how many of the caller's threads are unread."""

    unread_threads: int


@router.post("/threads/{thread_id}/read", status_code=204)
async def mark_read(thread_id: str, caller: CurrentCaller, deps: DepsDep) -> Response:
    """Mark the thread read up to its latest message."""
    await deps.states.mark_read(participant(caller), thread_id)
    return Response(status_code=204)


@router.post("/threads/{thread_id}/unread", status_code=204)
async def mark_unread(thread_id: str, caller: CurrentCaller, deps: DepsDep) -> Response:
    """Mark the thread unread to come back to it later."""
    await deps.states.mark_unread(participant(caller), thread_id)
    return Response(status_code=204)


async def _archive(thread_id: str, archived: bool, caller: CurrentCaller, deps: DepsDep) -> None:
    await deps.states.set_archived(participant(caller), thread_id, archived)


@router.post("/threads/{thread_id}/archive", status_code=204)
async def archive(thread_id: str, caller: CurrentCaller, deps: DepsDep) -> Response:
    """Move the thread to the caller's archive."""
    await _archive(thread_id, True, caller, deps)
    return Response(status_code=204)


@router.post("/threads/{thread_id}/unarchive", status_code=204)
async def unarchive(thread_id: str, caller: CurrentCaller, deps: DepsDep) -> Response:
    """Move the thread back to the caller's inbox."""
    await _archive(thread_id, False, caller, deps)
    return Response(status_code=204)


@router.get("/unread")
async def unread(caller: CurrentCaller, deps: DepsDep) -> UnreadOut:
    """The caller's red dot."""
    count = await deps.states.unread_threads(participant(caller))
    return UnreadOut(unread_threads=count)
