"""Projections of other systems' facts: the client and provider directories, the block list."""

from services.threads import events
from services.threads.domain import Client
from services.threads.store import BlockList, ClientDirectory, ProviderDirectory, ViewStore
from shared.events.blocks import BlockChanged
from shared.events.clients import ClientRecordChanged
from shared.events.providers import ProviderRecordChanged
from shared.kafka import EventPublisher


async def record_client(
    record: ClientRecordChanged,
    *,
    clients: ClientDirectory,
    views: ViewStore,
    publisher: EventPublisher,
) -> None:
    """Project a practice system's client record; providers' views show the new name."""
    if not await clients.upsert(record):
        return
    renamed = await views.rename_other(
        record.client_id,
        {"other_first_name": record.first_name, "other_last_name": record.last_name},
    )
    await publisher.publish_all([e for view in renamed for e in events.inbox_events(view)])


async def search_clients(
    practice_id: str, query: str | None, *, after: str | None, limit: int, clients: ClientDirectory
) -> list[Client]:
    """Clients of a practice matching a name query, in name order."""
    return await clients.search(practice_id, query, after=after, limit=limit)


async def record_block(change: BlockChanged, *, blocks: BlockList) -> None:
    """Project a provider's block or unblock of a client (latest per pair wins)."""
    await blocks.apply(change)


async def record_provider(record: ProviderRecordChanged, *, providers: ProviderDirectory) -> None:
    """Project a practice system's provider record (latest per provider wins)."""
    await providers.upsert(record)
