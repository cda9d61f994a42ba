"""Blocking use cases, bound to their ports by the composition root; framework-free."""

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from functools import partial

from services.blocking import events
from services.blocking.domain import (
    Block,
    BlockedClient,
    BlockOutcome,
    BlockRequest,
    Client,
    ClientNotFound,
    block_id,
    normalize_query,
)
from services.blocking.ports import BlocksPort, ClientsPort, ListsPort, OutboxPort
from shared.events.base import Event
from shared.events.blocks import BlockChanged
from shared.events.clients import ClientRecordChanged
from shared.outbox import Document

log = logging.getLogger(__name__)

# Writes of one bulk request in flight at once: quick for 500 ids, gentle on the database.
BULK_CONCURRENCY = 16

# The outbox's intent kind of a pair's change; its ref is the pair's id.
BLOCK_INTENT = "block"


@dataclass(frozen=True)
class ClientProjection:
    """Keeps the local copy of the practices' client directories current."""

    clients: ClientsPort

    async def record(self, record: ClientRecordChanged) -> None:
        """Project a client record (block lists read names from it, renames included)."""
        await self.clients.upsert(record)


@dataclass(frozen=True)
class ListProjection:
    """Keeps each provider's block list, from the pairs' events (`messaging.blocks.v1`)."""

    lists: ListsPort

    async def record(self, changes: list[BlockChanged], partitions: list[int]) -> None:
        """Bring the lists up to date with a batch of changes, each with its partition."""
        await self.lists.apply(
            [
                (block_id(c.provider_id, c.client_id), p)
                for c, p in zip(changes, partitions, strict=True)
            ]
        )


@dataclass(frozen=True)
class BlockLists:
    """Providers block and unblock their practice's clients and page through their list."""

    clients: ClientsPort
    blocks: BlocksPort
    lists: ListsPort
    outbox: OutboxPort

    async def block(
        self, provider_id: str, practice_id: str, client_ids: Sequence[str]
    ) -> BlockOutcome:
        """Block clients of the provider's practice, all or none (ClientNotFound)."""
        request = BlockRequest.of(client_ids)
        wanted = list(request.client_ids)
        found = request.clients(await self.clients.get_many(practice_id, wanted))
        to_block = request.to_block(found, await self.blocks.blocked_among(provider_id, wanted))
        limit = asyncio.Semaphore(BULK_CONCURRENCY)

        async def block_one(client: Client) -> None:
            async with limit:
                await self._change(
                    provider_id, client.client_id, partial(self.blocks.block, provider_id, client)
                )

        await asyncio.gather(*(block_one(c) for c in to_block))
        await self.lists.wait_listed(provider_id, dict.fromkeys(wanted, True))
        return BlockOutcome(wanted, [c.client_id for c in to_block])

    async def unblock(self, provider_id: str, practice_id: str, client_id: str) -> bool:
        """Unblock a client of the provider's practice; False when they were not blocked."""
        current = await self.blocks.get(provider_id, client_id)
        if current is None or not current.belongs_to(practice_id):
            if await self.clients.get(practice_id, client_id) is None:
                raise ClientNotFound()
            return False
        if not current.blocked:
            return False
        await self._change(
            provider_id, client_id, partial(self.blocks.unblock, provider_id, client_id)
        )
        await self.lists.wait_listed(provider_id, {client_id: False})
        return True

    async def page(
        self,
        provider_id: str,
        practice_id: str,
        query: str | None,
        *,
        after: str | None,
        limit: int,
    ) -> list[BlockedClient]:
        """The provider's blocked clients matching a name query, in name order."""
        blocked = await self.lists.blocked(provider_id)
        wanted = normalize_query(query)
        found = [
            BlockedClient.of(client, blocked[client.client_id])
            for client in await self.clients.get_many(practice_id, list(blocked))
            if (not wanted or wanted in client.search_text)
            and (after is None or client.sort_key > after)
        ]
        return sorted(found, key=lambda b: b.sort_key)[:limit]

    async def recover(self, ref: Document) -> list[Event]:
        """The event of a pair's current state, for an intent left behind."""
        block = await self.blocks.by_id(ref["id"])
        return events.block_events(block) if block is not None else []

    async def _change(
        self, provider_id: str, client_id: str, change: Callable[[], Awaitable[Block | None]]
    ) -> None:
        """Record the intent, make the change, publish its event."""
        intent = await self.outbox.intend(BLOCK_INTENT, id=block_id(provider_id, client_id))
        block = await change()
        if block is None:
            self.outbox.discard(intent)
            return
        await self.outbox.publish_soon(intent, events.block_events(block))
        log.info(
            "block changed",
            extra={
                "provider_id": block.provider_id,
                "client_id": block.client_id,
                "blocked": block.blocked,
                "rev": block.rev,
            },
        )
