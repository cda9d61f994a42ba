"""Reading a practice's audit trail (practice admins only) and chaining new records."""

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from services.threads.domain import NotPracticeAdmin, may_change_practice_settings
from services.threads.ports import AuditChainPort
from shared.events.audit import AccessRecorded


@dataclass(frozen=True)
class AuditRecords:
    """The use cases of the stored audit chains, bound to their store."""

    chain: AuditChainPort

    def forget_written(self) -> None:
        """The consumer's partitions changed: read each chain's head before appending."""
        self.chain.forget_written()

    async def chain_records(self, records: list[AccessRecorded]) -> None:
        """Append a batch of access records to their practices' chains, in order."""
        by_practice: dict[str, list[AccessRecorded]] = defaultdict(list)
        for record in records:
            by_practice[record.practice_id].append(record)
        for practice_id, batch in by_practice.items():
            await self.chain.append(practice_id, batch)

    async def page(
        self,
        practice_id: str,
        *,
        role: str,
        practice_admin: bool,
        since: datetime | None,
        until: datetime | None,
        after_position: int,
        limit: int,
    ) -> tuple[list[dict[str, Any]], int | None]:
        """Records oldest first from a position (or `since`); and the position to go on from."""
        if not may_change_practice_settings(role, practice_admin):
            raise NotPracticeAdmin(practice_id)
        last, _ = await self.chain.head(practice_id)
        start = after_position + 1
        if since is not None and after_position == 0:
            start = await self.chain.first_at_or_after(practice_id, since, last)
        items: list[dict[str, Any]] = []
        position = start
        while position <= last and len(items) < limit:
            record = await self.chain.at(practice_id, position)
            if record is not None:
                if until is not None and record["at"] > until:
                    return items, None
                items.append(record)
            position += 1
        return items, (position - 1 if position <= last else None)
