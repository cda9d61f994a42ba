"""The caller's live stream (Server-Sent Events): desktop notifications and the red dot."""

import asyncio
import json
from collections.abc import AsyncGenerator, AsyncIterator
from contextlib import aclosing
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Header
from sse_starlette import EventSourceResponse

from services.notify.deps import DepsDep
from services.notify.domain import LiveEvent
from shared.auth import CurrentCaller
from shared.clock import utcnow

router = APIRouter(prefix="/v1/me")


@router.get("/stream", response_class=EventSourceResponse)
async def stream(
    caller: CurrentCaller,
    deps: DepsDep,
    last_event_id: Annotated[str | None, Header(max_length=200)] = None,
) -> EventSourceResponse:
    """Events for the caller until their token expires; `Last-Event-ID` replays what was missed.

    The browser then reconnects with a fresh token and its last event id.
    """

    async def events() -> AsyncIterator[dict[str, Any]]:
        feed = deps.feed.stream(caller.id, last_event_id)
        async for event in _until(caller.expires_at, feed):
            yield {"id": event.id, "event": event.kind, "data": json.dumps(event.data)}

    return EventSourceResponse(events(), ping=deps.heartbeat_seconds)


async def _until(
    deadline: datetime | None, events: AsyncGenerator[LiveEvent, None]
) -> AsyncIterator[LiveEvent]:
    """The events that arrive before the deadline; the stream ends at it."""
    async with aclosing(events):
        while True:
            remaining = None if deadline is None else (deadline - utcnow()).total_seconds()
            if remaining is not None and remaining <= 0:
                return
            try:
                event = await asyncio.wait_for(anext(events), remaining)
            except (TimeoutError, StopAsyncIteration):
                return
            yield event
