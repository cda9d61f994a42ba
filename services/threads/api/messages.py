"""HTTP routes of messages: send and page through a thread."""

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Response
from pydantic import BaseModel, ConfigDict, Field

from services.threads.api.errors import participant
from services.threads.deps import DepsDep
from services.threads.domain import MAX_BODY_CHARS, Message
from shared.auth import CurrentCaller
from shared.ids import new_id
from shared.pagination import MAX_LIMIT, decode_cursor, encode_cursor

router = APIRouter(prefix="/v1")


class SendIn(BaseModel):
    """A message to send; retries reuse the same client_message_id."""

    model_config = ConfigDict(extra="forbid", strict=True)

    body: str = Field(min_length=1, max_length=MAX_BODY_CHARS)
    client_message_id: str | None = Field(default=None, min_length=1, max_length=200)


class SenderOut(BaseModel):
    """Who sent a message, with the name they had when sending."""

    role: str
    id: str
    display_name: str


class MessageOut(BaseModel):
    """A message of a thread."""

    message_id: str
    thread_id: str
    seq: int
    client_message_id: str
    sender: SenderOut
    body: str
    created_at: datetime


class MessagePage(BaseModel):
    """A page of messages, newest first."""

    items: list[MessageOut]
    next_cursor: str | None


def message_out(m: Message) -> MessageOut:
    """The response shape of a message."""
    return MessageOut(
        message_id=m.message_id,
        thread_id=m.thread_id,
        seq=m.seq,
        client_message_id=m.client_message_id,
        sender=SenderOut(role=m.sender_role, id=m.sender_id, display_name=m.sender_display_name),
        body=m.body,
        created_at=m.created_at,
    )


async def _send_budget(caller: CurrentCaller, deps: DepsDep) -> None:
    """Spend one of the caller's sends (429 `rate_limited` once they are spent)."""
    await deps.send_limit.acquire(f"{caller.practice_id}:{caller.id}")


@router.post("/threads/{thread_id}/messages", status_code=201, dependencies=[Depends(_send_budget)])
async def send_message(
    thread_id: str, payload: SendIn, caller: CurrentCaller, deps: DepsDep, response: Response
) -> MessageOut:
    """Send a message; a retry with the same client_message_id returns the same message."""
    message, _created = await deps.messaging.send(
        participant(caller), thread_id, payload.body, payload.client_message_id or new_id()
    )
    response.status_code = 201
    return message_out(message)


@router.get("/threads/{thread_id}/messages")
async def list_messages(
    thread_id: str,
    caller: CurrentCaller,
    deps: DepsDep,
    before_seq: Annotated[int | None, Query(ge=1)] = None,
    limit: Annotated[int, Query(ge=1)] = 50,
    cursor: str | None = None,
) -> MessagePage:
    """Messages newest first; `before_seq` (or the cursor) pages back in time."""
    limit = min(limit, MAX_LIMIT)
    position = decode_cursor(cursor)
    if position and isinstance(position.get("before_seq"), int):
        before_seq = position["before_seq"]
    found = await deps.messaging.page(
        participant(caller), thread_id, before_seq=before_seq, limit=limit + 1
    )
    page = found[:limit]
    next_cursor = encode_cursor({"before_seq": page[-1].seq}) if len(found) > limit else None
    return MessagePage(items=[message_out(m) for m in page], next_cursor=next_cursor)
