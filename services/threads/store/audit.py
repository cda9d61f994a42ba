"""The audit trail: who read or wrote which thread, and when (never message text)."""

from typing import Any

from services.threads.domain import Participant
from shared.batching import InsertBatcher
from shared.clock import utcnow


class AuditLog:
    """Append-only records of thread access."""

    def __init__(self, db: Any) -> None:
        self._audit = db["audit"]
        self._inserts = InsertBatcher(self._audit)

    async def ensure_indexes(self) -> None:
        """Look-ups by thread and by actor."""
        await self._audit.create_index([("thread_id", 1), ("at", 1)], name="by_thread")
        await self._audit.create_index([("actor_id", 1), ("at", 1)], name="by_actor")

    async def record(self, who: Participant, action: str, thread_id: str | None) -> None:
        """Append one access record."""
        await self._inserts.insert(
            {
                "actor_id": who.id,
                "actor_role": who.role,
                "practice_id": who.practice_id,
                "action": action,
                "thread_id": thread_id,
                "at": utcnow(),
            }
        )
