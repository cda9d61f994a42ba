"""Threads: exactly one per provider-client pair, enforced by a unique index."""

from typing import Any

from services.threads.domain import Thread
from shared.clock import utcnow
from shared.ids import new_id
from shared.mongo import DuplicateKeyError
from shared.outbox import pending_update


def to_thread(doc: dict[str, Any]) -> Thread:
    """The domain object of a thread document."""
    return Thread(
        thread_id=doc["_id"],
        practice_id=doc["practice_id"],
        provider_id=doc["provider_id"],
        client_id=doc["client_id"],
        created_by=doc["created_by"],
        created_at=doc["created_at"],
    )


class ThreadStore:
    """The threads collection."""

    def __init__(self, db: Any) -> None:
        self.collection = db["threads"]

    async def ensure_indexes(self) -> None:
        """One thread per pair: concurrent creates collide here, never twice."""
        await self.collection.create_index(
            [("provider_id", 1), ("client_id", 1)], unique=True, name="one_per_pair"
        )

    async def get(self, thread_id: str) -> Thread | None:
        """A thread by id, whoever may see it."""
        doc = await self.collection.find_one({"_id": thread_id})
        return to_thread(doc) if doc else None

    async def find_pair(self, provider_id: str, client_id: str) -> Thread | None:
        """The pair's thread, if it exists."""
        doc = await self.collection.find_one({"provider_id": provider_id, "client_id": client_id})
        return to_thread(doc) if doc else None

    async def create(
        self, practice_id: str, provider_id: str, client_id: str, created_by: str
    ) -> tuple[Thread, dict[str, Any] | None]:
        """Insert the pair's thread; if it exists already, return it (and no document)."""
        doc = {
            "_id": new_id(),
            "practice_id": practice_id,
            "provider_id": provider_id,
            "client_id": client_id,
            "created_by": created_by,
            "created_at": utcnow(),
            **pending_update(),
        }
        try:
            await self.collection.insert_one(doc)
        except DuplicateKeyError:
            existing = await self.find_pair(provider_id, client_id)
            if existing is None:  # pragma: no cover - the colliding insert is durable
                raise
            return existing, None
        return to_thread(doc), doc
