"""The audit trail: every service records accesses as events; the threads service chains them.

`AuditTrail.record` publishes an `AccessRecorded` (to the practice-keyed audit topic); a
write's record can instead ride with the write's own events through the outbox
(`AuditTrail.event`), so it survives a crash right after the write. The chain: each stored
record carries `prev_hash` (the previous record's `hash`) and `hash` = SHA-256 over its
own fields and `prev_hash`, so an edited or deleted record breaks every later link.

`msgctl audit verify` (ops/audit.py) walks the stored chains and reports the first broken link.
"""

import hashlib
import json
from collections.abc import AsyncIterator, Iterable, Mapping
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from fastapi import Depends, Request

from shared.auth import CurrentCaller
from shared.events.audit import AccessRecorded, Outcome
from shared.kafka import EventPublisher
from shared.observability import correlation_id

GENESIS = "0" * 64
# The fields a record's hash covers (in this order), besides `prev_hash`.
CHAINED_FIELDS = (
    "position",
    "event_id",
    "at",
    "practice_id",
    "actor_id",
    "actor_role",
    "action",
    "resource_type",
    "resource_id",
    "thread_id",
    "outcome",
    "request_id",
    "service",
)


def record_id(practice_id: str, position: int) -> str:
    """The `_id` of a practice's record at a position (1, 2, 3...)."""
    return f"{practice_id}:{position:012d}"


def record_hash(record: Mapping[str, Any], prev_hash: str) -> str:
    """The hash of a chained record, given the hash of the one before it."""
    fields = {name: record.get(name) for name in CHAINED_FIELDS}
    at = fields["at"]
    if isinstance(at, str):  # as exported over HTTP
        at = datetime.fromisoformat(at)
    fields["at"] = at.astimezone(UTC).isoformat() if isinstance(at, datetime) else str(at)
    fields["event_id"] = str(fields["event_id"])
    payload = json.dumps(fields, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256((prev_hash + payload).encode()).hexdigest()


def link_holds(record: Mapping[str, Any], position: int, prev_hash: str) -> bool:
    """Whether a record sits at `position`, after the record whose hash is `prev_hash`."""
    return (
        record.get("position") == position
        and record.get("prev_hash") == prev_hash
        and record.get("hash") == record_hash(record, prev_hash)
    )


def first_broken_link(records: Iterable[Mapping[str, Any]]) -> Mapping[str, Any] | None:
    """The first record (in chain order) whose links do not hold, or None if all do."""
    prev_hash, expected_position = GENESIS, 1
    for record in records:
        if not link_holds(record, expected_position, prev_hash):
            return record
        prev_hash, expected_position = record["hash"], expected_position + 1
    return None


class AuditTrail:
    """Records accesses for one service."""

    def __init__(self, publisher: EventPublisher, service: str) -> None:
        self._publisher = publisher
        self._service = service

    def event(
        self,
        *,
        practice_id: str,
        actor_id: str,
        actor_role: str,
        action: str,
        resource_type: str,
        resource_id: str | None = None,
        thread_id: str | None = None,
        outcome: Outcome = "ok",
        event_id: UUID | None = None,
    ) -> AccessRecorded:
        """The record of one access (pass a stable `event_id` for a write's own record)."""
        fields: dict[str, Any] = {
            "practice_id": practice_id,
            "actor_id": actor_id,
            "actor_role": actor_role,
            "action": action,
            "resource_type": resource_type,
            "resource_id": resource_id,
            "thread_id": thread_id,
            "outcome": outcome,
            "request_id": correlation_id.get(),
            "service": self._service,
        }
        if event_id is not None:
            fields["event_id"] = event_id
        return AccessRecorded(**fields)

    async def record(self, **access: Any) -> None:
        """Publish the record of one access (returns once the broker has it)."""
        await self._publisher.publish(self.event(**access))


def audited(action: str, resource_type: str, resource_param: str | None = None) -> Any:
    """A route dependency recording the caller's access, with its outcome, after the route.

    For routes whose use case does not record its own access (every service's app state
    holds its `AuditTrail`, set by `shared.service.service_runtime`).
    """

    async def record(request: Request, caller: CurrentCaller) -> AsyncIterator[None]:
        outcome: Outcome = "ok"
        try:
            yield
        except Exception as error:
            status = getattr(error, "status", None) or getattr(error, "status_code", None)
            outcome = (
                "not_found" if status == 404 or "NotFound" in type(error).__name__ else "denied"
            )
            raise
        finally:
            trail: AuditTrail = request.app.state.audit_trail
            await trail.record(
                practice_id=caller.practice_id,
                actor_id=caller.id,
                actor_role=caller.role.value,
                action=action,
                resource_type=resource_type,
                resource_id=request.path_params.get(resource_param) if resource_param else None,
                outcome=outcome,
            )

    return Depends(record)
