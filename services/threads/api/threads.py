"""HTTP routes of threads: open, list, get."""

from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Response
from pydantic import BaseModel, ConfigDict, Field

from services.threads.api.errors import participant
from services.threads.deps import DepsDep
from services.threads.handlers.threads import ThreadState
from shared.auth import CurrentCaller
from shared.pagination import MAX_LIMIT, decode_cursor, encode_cursor
from shared.problems import Problem

router = APIRouter(prefix="/v1")


class OpenThreadIn(BaseModel):
    """Who to talk to: a client (for providers) or a provider (for clients)."""

    model_config = ConfigDict(extra="forbid", strict=True)

    client_id: str | None = Field(default=None, min_length=1, max_length=200)
    provider_id: str | None = Field(default=None, min_length=1, max_length=200)


class ClientRef(BaseModel):
    """The client of a thread, as their provider sees them."""

    client_id: str
    first_name: str
    last_name: str


class ProviderRef(BaseModel):
    """The provider of a thread, as their client sees them."""

    provider_id: str
    display_name: str


class ThreadOut(BaseModel):
    """A thread as the caller sees it."""

    thread_id: str
    provider_id: str
    client_id: str
    client: ClientRef | None
    provider: ProviderRef | None
    created_at: datetime
    last_message_at: datetime | None
    last_seq: int
    read_seq: int
    unread: bool
    unread_count: int
    archived: bool


class ThreadPage(BaseModel):
    """A page of threads."""

    items: list[ThreadOut]
    next_cursor: str | None


def thread_out(state: ThreadState) -> ThreadOut:
    """The response shape of one participant's thread state."""
    v = state.view
    is_provider = v.role == "provider"
    return ThreadOut(
        thread_id=v.thread_id,
        provider_id=v.participant_id if is_provider else v.other_id,
        client_id=v.other_id if is_provider else v.participant_id,
        client=ClientRef(
            client_id=v.other_id, first_name=v.other_first_name, last_name=v.other_last_name
        )
        if is_provider
        else None,
        provider=None
        if is_provider
        else ProviderRef(provider_id=v.other_id, display_name=v.other_display_name),
        created_at=v.created_at,
        last_message_at=v.last_message_at,
        last_seq=v.last_seq,
        read_seq=v.read_seq,
        unread=v.unread,
        unread_count=state.unread_count,
        archived=v.archived,
    )


@router.post("/threads", status_code=201)
async def open_thread(
    payload: OpenThreadIn, caller: CurrentCaller, deps: DepsDep, response: Response
) -> ThreadOut:
    """The pair's one thread: 201 when created, 200 when it existed."""
    who = participant(caller)
    counterpart = payload.client_id if who.role == "provider" else payload.provider_id
    other = payload.provider_id if who.role == "provider" else payload.client_id
    if counterpart is None or other is not None:
        field = "client_id" if who.role == "provider" else "provider_id"
        raise Problem(422, "validation_failed", "Request is not valid", f"Send only {field}.")
    thread, created = await deps.conversations.open(who, counterpart)
    response.status_code = 201 if created else 200
    state = await deps.conversations.state_of(thread, who)
    return thread_out(state)


@router.get("/threads")
async def list_threads(
    caller: CurrentCaller,
    deps: DepsDep,
    box: Literal["inbox", "archive"] = "inbox",
    q: Annotated[str | None, Query(max_length=200)] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = 50,
    cursor: str | None = None,
) -> ThreadPage:
    """The caller's threads, newest activity first."""
    who = participant(caller)
    after = _position(cursor)
    found = await deps.conversations.list(
        who,
        archived=box == "archive",
        query=q,
        after=after,
        limit=limit + 1,
    )
    page = found[:limit]
    next_cursor = None
    if len(found) > limit:
        last = page[-1].view
        next_cursor = encode_cursor({"a": last.activity_at.isoformat(), "t": last.thread_id})
    return ThreadPage(items=[thread_out(s) for s in page], next_cursor=next_cursor)


def _position(cursor: str | None) -> tuple[datetime, str] | None:
    position = decode_cursor(cursor)
    if position is None:
        return None
    try:
        return datetime.fromisoformat(str(position["a"])), str(position["t"])
    except (KeyError, ValueError) as error:
        raise Problem(
            422, "invalid_cursor", "Invalid cursor", "The cursor is not valid."
        ) from error


@router.get("/threads/{thread_id}")
async def get_thread(thread_id: str, caller: CurrentCaller, deps: DepsDep) -> ThreadOut:
    """One of the caller's threads."""
    state = await deps.conversations.get(participant(caller), thread_id)
    return thread_out(state)
