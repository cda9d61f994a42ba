"""Reading a practice's audit trail (practice admins only) and chaining new records."""

from collections import defaultdict
from datetime import datetime
from typing import Any

from services.threads.domain import NotPracticeAdmin, may_change_practice_settings
from services.threads.store.audit import AuditChain
from shared.events.audit import AccessRecorded


async def chain_records(records: list[AccessRecorded], *, chain: AuditChain) -> None:
    """Append a batch of access records to their practices' chains, in order."""
    by_practice: dict[str, list[AccessRecorded]] = defaultdict(list)
    for record in records:
        by_practice[record.practice_id].append(record)
    for practice_id, batch in by_practice.items():
        await chain.append(practice_id, batch)


async def audit_page(
    practice_id: str,
    *,
    role: str,
    practice_admin: bool,
    since: datetime | None,
    until: datetime | None,
    after_position: int,
    limit: int,
    chain: AuditChain,
) -> tuple[list[dict[str, Any]], int | None]:
    """Records oldest first from a position (or `since`); and the position to go on from."""
    if not may_change_practice_settings(role, practice_admin):
        raise NotPracticeAdmin(practice_id)
    last, _ = await chain.head(practice_id)
    start = after_position + 1
    if since is not None and after_position == 0:
        start = await chain.first_at_or_after(practice_id, since, last)
    items: list[dict[str, Any]] = []
    position = start
    while position <= last and len(items) < limit:
        record = await chain.at(practice_id, position)
        if record is not None:
            if until is not None and record["at"] > until:
                return items, None
            items.append(record)
        position += 1
    return items, (position - 1 if position <= last else None)
