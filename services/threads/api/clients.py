"""HTTP routes of the client directory search."""

from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel

from services.threads.deps import DepsDep
from shared.auth import CurrentCaller, Role, require_role
from shared.pagination import MAX_LIMIT, after_key, keyed_page

router = APIRouter(prefix="/v1")


class ClientOut(BaseModel):
    """A client as the directory shows them."""

    client_id: str
    first_name: str
    last_name: str
    active: bool


class ClientPage(BaseModel):
    """A page of clients."""

    items: list[ClientOut]
    next_cursor: str | None


@router.get("/clients")
async def search_clients(
    caller: CurrentCaller,
    deps: DepsDep,
    q: Annotated[str | None, Query(max_length=200)] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = 50,
    cursor: str | None = None,
) -> ClientPage:
    """Clients of the caller's practice whose name matches `q`."""
    require_role(caller, Role.PROVIDER, Role.ADMIN)
    found = await deps.directory.search_clients(
        caller.practice_id, q, after=after_key(cursor), limit=limit + 1
    )
    page, next_cursor = keyed_page(found, limit, key=lambda c: c.sort_key)
    return ClientPage(
        items=[
            ClientOut(
                client_id=c.client_id,
                first_name=c.first_name,
                last_name=c.last_name,
                active=c.active,
            )
            for c in page
        ],
        next_cursor=next_cursor,
    )
