"""Threads: exactly one per provider-client pair, by an `_id` derived from the pair."""

from collections import OrderedDict
from typing import Any

from services.threads.domain import Thread
from shared.clock import utcnow
from shared.ids import stable_uuid
from shared.mongo import DuplicateKeyError, find_by_id

THREADS_CACHED = 100_000


def thread_id_for(provider_id: str, client_id: str) -> str:
    """The one thread id a provider-client pair can have."""
    return str(stable_uuid("thread", provider_id, client_id))


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
    """The threads collection; a thread never changes, so each process caches them."""

    def __init__(self, db: Any) -> None:
        self.collection = db["threads"]
        self._cache: OrderedDict[str, Thread] = OrderedDict()

    async def ensure_indexes(self) -> None:
        """Nothing: threads are read by `_id` alone, and the pair is the `_id`."""

    async def get(self, thread_id: str) -> Thread | None:
        """A thread by id, whoever may see it."""
        if (cached := self._cache.get(thread_id)) is not None:
            self._cache.move_to_end(thread_id)
            return cached
        doc = await find_by_id(self.collection, thread_id)
        return self._remember(to_thread(doc)) if doc else None

    async def document(self, thread_id: str) -> dict[str, Any] | None:
        """The stored document, for the outbox's recovery."""
        return await find_by_id(self.collection, thread_id)

    async def find_pair(self, provider_id: str, client_id: str) -> Thread | None:
        """The pair's thread, if it exists."""
        return await self.get(thread_id_for(provider_id, client_id))

    async def create(
        self, practice_id: str, provider_id: str, client_id: str, created_by: str
    ) -> tuple[Thread, dict[str, Any] | None]:
        """Insert the pair's thread; if it exists already, return it (and no document)."""
        thread_id = thread_id_for(provider_id, client_id)
        doc: dict[str, Any] = {
            "_id": thread_id,
            "practice_id": practice_id,
            "provider_id": provider_id,
            "client_id": client_id,
            "created_by": created_by,
            "created_at": utcnow(),
        }
        try:
            await self.collection.insert_one(doc)
        except DuplicateKeyError:
            existing = await self.get(thread_id)
            if existing is None:  # pragma: no cover - the colliding insert is durable
                raise
            return existing, None
        return self._remember(to_thread(doc)), doc

    def _remember(self, thread: Thread) -> Thread:
        self._cache[thread.thread_id] = thread
        while len(self._cache) > THREADS_CACHED:
            self._cache.popitem(last=False)
        return thread
