"""The caller's live stream (Server-Sent Events): desktop notifications and the red dot."""

import json
from collections.abc import AsyncIterator
from typing import Annotated, Any

from fastapi import APIRouter, Header
from sse_starlette import EventSourceResponse

from services.notify.deps import DepsDep
from shared.auth import CurrentCaller

router = APIRouter(prefix="/v1/me")


@router.get("/stream", response_class=EventSourceResponse)
async def stream(
    caller: CurrentCaller,
    deps: DepsDep,
    last_event_id: Annotated[str | None, Header(max_length=200)] = None,
) -> EventSourceResponse:
    """Events for the caller; `Last-Event-ID` replays what a reconnecting browser missed."""

    async def events() -> AsyncIterator[dict[str, Any]]:
        async for event in deps.feed.stream(caller.id, last_event_id):
            yield {"id": event.id, "event": event.kind, "data": json.dumps(event.data)}

    return EventSourceResponse(events(), ping=deps.heartbeat_seconds)
