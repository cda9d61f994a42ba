"""HTTP route of the practice's audit trail (HIPAA 164.312(b)); practice admins only."""

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import BaseModel

from services.threads.deps import DepsDep
from shared.auth import CurrentCaller
from shared.pagination import MAX_LIMIT, decode_cursor, encode_cursor

router = APIRouter(prefix="/v1")


class AuditRecordOut(BaseModel):
    """One link of the practice's hash chain (never message text)."""

    position: int
    at: datetime
    practice_id: str
    actor_id: str
    actor_role: str
    action: str
    resource_type: str
    resource_id: str | None
    thread_id: str | None
    outcome: str
    request_id: str | None
    service: str
    event_id: str
    hash: str
    prev_hash: str


class AuditPage(BaseModel):
    """A page of the trail, oldest first."""

    items: list[AuditRecordOut]
    next_cursor: str | None


@router.get("/practice/audit")
async def practice_audit(
    caller: CurrentCaller,
    deps: DepsDep,
    since: datetime | None = None,
    until: datetime | None = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = 50,
    cursor: str | None = None,
) -> AuditPage:
    """The practice's audit records, oldest first, each linked to the one before by hash."""
    position = (decode_cursor(cursor) or {}).get("p")
    after = position if isinstance(position, int) else 0
    items, last = await deps.audit_records.page(
        caller.practice_id,
        role=caller.role.value,
        practice_admin=caller.practice_admin,
        since=since,
        until=until,
        after_position=after,
        limit=limit,
    )
    return AuditPage(
        items=[AuditRecordOut(**_fields(r)) for r in items],
        next_cursor=encode_cursor({"p": last}) if last is not None else None,
    )


def _fields(record: dict[str, Any]) -> dict[str, Any]:
    return {name: record.get(name) for name in AuditRecordOut.model_fields}
