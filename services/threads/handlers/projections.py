"""Projections of other systems' facts: the client and provider directories, the block list."""

from dataclasses import dataclass

from services.threads import events
from services.threads.domain import Client
from services.threads.ports import (
    BlocksPort,
    ClientsPort,
    EventsPort,
    InboxesPort,
    ProvidersPort,
    ViewsPort,
)
from shared.events.blocks import BlockChanged
from shared.events.clients import ClientRecordChanged
from shared.events.providers import ProviderRecordChanged


@dataclass(frozen=True)
class Directory:
    """The use cases of the directories and block list this service keeps, bound to stores."""

    clients: ClientsPort
    providers: ProvidersPort
    blocks: BlocksPort
    views: ViewsPort
    inboxes: InboxesPort
    publisher: EventsPort

    async def record_clients(
        self, records: list[ClientRecordChanged], partitions: list[int]
    ) -> None:
        """Project a batch of a practice system's client records, each with its partition;
        providers' views show a renamed client's new name."""
        renamed = set(await self.clients.apply(list(zip(records, partitions, strict=True))))
        latest = {r.client_id: r for r in records if r.client_id in renamed}
        for record in latest.values():
            views = await self.views.rename_other(
                await self.inboxes.counterpart_views(record.client_id),
                {"other_first_name": record.first_name, "other_last_name": record.last_name},
            )
            await self.publisher.publish_all([e for v in views for e in events.inbox_events(v)])

    async def search_clients(
        self, practice_id: str, query: str | None, *, after: str | None, limit: int
    ) -> list[Client]:
        """Clients of a practice matching a name query, in name order."""
        return await self.clients.search(practice_id, query, after=after, limit=limit)

    async def record_block(self, change: BlockChanged) -> None:
        """Project a provider's block or unblock of a client (latest per pair wins)."""
        await self.blocks.apply(change)

    async def record_provider(self, record: ProviderRecordChanged) -> None:
        """Project a practice system's provider record (latest per provider wins)."""
        await self.providers.upsert(record)
