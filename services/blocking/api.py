"""HTTP routes of the blocking service; they map domain errors to HTTP and nothing more."""

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, FastAPI, Path, Query, Response
from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from services.blocking.deps import DepsDep
from services.blocking.domain import MAX_BULK, ClientNotFound, DomainError
from shared.audit import audited
from shared.auth import Caller, CurrentCaller, Role, require_role
from shared.pagination import MAX_LIMIT, after_key, keyed_page
from shared.problems import ProblemSpec, install_domain_errors

router = APIRouter(prefix="/v1", tags=["blocks"])

PROBLEMS: dict[type[Exception], ProblemSpec] = {
    ClientNotFound: ProblemSpec(404, "not_found", "Not found", "No such client."),
}


def install_error_mapping(app: FastAPI) -> None:
    """Answer domain errors as problem details (details never echo input)."""
    install_domain_errors(app, PROBLEMS, base=DomainError)


ClientId = Annotated[str, StringConstraints(min_length=1, max_length=200)]
ClientIdPath = Annotated[str, Path(min_length=1, max_length=200)]

_PROBLEM: dict[str, Any] = {"content": {"application/problem+json": {}}}
_ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"description": "Missing or invalid bearer token", **_PROBLEM},
    403: {"description": "The caller is not a provider", **_PROBLEM},
    404: {"description": "No such client in the provider's practice", **_PROBLEM},
    422: {"description": "Invalid request", **_PROBLEM},
}
_LIST_ERRORS = {status: doc for status, doc in _ERRORS.items() if status != 404}
_BULK_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"description": "Every requested client is now blocked (nothing is written on a 404)"},
    **_ERRORS,
}


class BulkBlockIn(BaseModel):
    """Clients to block at once (1 to 500 ids of the provider's practice)."""

    model_config = ConfigDict(extra="forbid")

    client_ids: list[ClientId] = Field(min_length=1, max_length=MAX_BULK)


class BulkBlockOut(BaseModel):
    """Outcome of a bulk block: every requested client is now blocked."""

    client_ids: list[str] = Field(description="The requested clients, once each; all blocked.")
    newly_blocked: list[str] = Field(description="Those that were not blocked before.")


class BlockedClientOut(BaseModel):
    """A blocked client as the provider's block list shows them."""

    client_id: str
    first_name: str
    last_name: str
    blocked_at: datetime


class BlockPage(BaseModel):
    """A page of the provider's block list."""

    items: list[BlockedClientOut]
    next_cursor: str | None


def _provider(caller: Caller) -> Caller:
    require_role(caller, Role.PROVIDER)
    return caller


@router.put(
    "/blocks/{client_id}",
    status_code=204,
    response_class=Response,
    responses=_ERRORS,
    dependencies=[audited("block.create", "block", "client_id")],
)
async def block_client(client_id: ClientIdPath, caller: CurrentCaller, deps: DepsDep) -> None:
    """Block a client of the caller's practice; blocking again changes nothing."""
    provider = _provider(caller)
    await deps.block_lists.block(provider.id, provider.practice_id, [client_id])


@router.delete(
    "/blocks/{client_id}",
    status_code=204,
    response_class=Response,
    responses=_ERRORS,
    dependencies=[audited("block.delete", "block", "client_id")],
)
async def unblock_client(client_id: ClientIdPath, caller: CurrentCaller, deps: DepsDep) -> None:
    """Unblock a client; unblocking a client who is not blocked changes nothing."""
    provider = _provider(caller)
    await deps.block_lists.unblock(provider.id, provider.practice_id, client_id)


@router.post(
    "/blocks", responses=_BULK_RESPONSES, dependencies=[audited("block.create_many", "block")]
)
async def block_clients(request: BulkBlockIn, caller: CurrentCaller, deps: DepsDep) -> BulkBlockOut:
    """Block several clients at once: all of them, or none if any id is not a client (404)."""
    provider = _provider(caller)
    outcome = await deps.block_lists.block(provider.id, provider.practice_id, request.client_ids)
    return BulkBlockOut(client_ids=outcome.client_ids, newly_blocked=outcome.newly_blocked)


@router.get("/blocks", responses=_LIST_ERRORS, dependencies=[audited("block.list", "block")])
async def list_blocks(
    caller: CurrentCaller,
    deps: DepsDep,
    q: Annotated[str | None, Query(max_length=200)] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = 50,
    cursor: str | None = None,
) -> BlockPage:
    """The caller's blocked clients whose first and/or last name matches `q`, in name order."""
    provider = _provider(caller)
    found = await deps.block_lists.page(
        provider.id, provider.practice_id, q, after=after_key(cursor), limit=limit + 1
    )
    page, next_cursor = keyed_page(found, limit, key=lambda b: b.sort_key)
    return BlockPage(
        items=[
            BlockedClientOut(
                client_id=b.client_id,
                first_name=b.first_name,
                last_name=b.last_name,
                blocked_at=b.blocked_at,
            )
            for b in page
        ],
        next_cursor=next_cursor,
    )
