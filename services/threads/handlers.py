"""Threads use cases; framework-free, collaborators passed in."""

from services.threads.domain import Client
from services.threads.store import ClientDirectory
from shared.events.clients import ClientRecordChanged


async def record_client(record: ClientRecordChanged, *, clients: ClientDirectory) -> None:
    """Project a practice system's client record."""
    await clients.upsert(record)


async def search_clients(
    practice_id: str, query: str | None, *, after: str | None, limit: int, clients: ClientDirectory
) -> list[Client]:
    """Clients of a practice matching a name query, in name order."""
    return await clients.search(practice_id, query, after=after, limit=limit)
