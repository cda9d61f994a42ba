"""Blocking use cases; framework-free, collaborators passed in."""

import asyncio
import logging
from collections.abc import Awaitable, Mapping, Sequence
from typing import Any

from services.blocking.domain import (
    BlockedClient,
    Client,
    ClientNotFound,
    block_id,
    distinct,
    normalize_query,
    require_all_found,
)
from services.blocking.store import BlockStore, ClientDirectory, derive_block_events
from shared.events.clients import ClientRecordChanged
from shared.outbox import Outbox

log = logging.getLogger(__name__)

# Writes of one bulk request in flight at once: quick for 500 ids, gentle on the database.
BULK_CONCURRENCY = 16


async def record_client(
    record: ClientRecordChanged, *, clients: ClientDirectory, blocks: BlockStore
) -> None:
    """Project a practice system's client record and refresh the names in block lists."""
    client, renamed = await clients.upsert(record)
    if renamed:
        await blocks.rename(client)


async def _change(
    provider_id: str,
    client_id: str,
    change: Awaitable[Mapping[str, Any] | None],
    outbox: Outbox,
) -> None:
    """Record the intent, make the change, publish its event."""
    intent = await outbox.intend("block", id=block_id(provider_id, client_id))
    doc = await change
    if doc is None:
        outbox.discard(intent)
        return
    await outbox.publish_soon(intent, await derive_block_events(doc))
    log.info(
        "block changed",
        extra={
            "provider_id": doc["provider_id"],
            "client_id": doc["client_id"],
            "blocked": doc["blocked"],
            "rev": doc["rev"],
        },
    )


async def block_clients(
    provider_id: str,
    practice_id: str,
    client_ids: Sequence[str],
    *,
    clients: ClientDirectory,
    blocks: BlockStore,
    outbox: Outbox,
) -> list[str]:
    """Block clients of the provider's practice, all or none; the ids newly blocked."""
    wanted = distinct(client_ids)
    found = require_all_found(wanted, await clients.get_many(practice_id, wanted))
    already = await blocks.blocked_among(provider_id, wanted)
    to_block = [c for c in found if c.client_id not in already]
    limit = asyncio.Semaphore(BULK_CONCURRENCY)

    async def block_one(client: Client) -> None:
        async with limit:
            await _change(provider_id, client.client_id, blocks.block(provider_id, client), outbox)

    await asyncio.gather(*(block_one(c) for c in to_block))
    return [c.client_id for c in to_block]


async def unblock_client(
    provider_id: str,
    practice_id: str,
    client_id: str,
    *,
    clients: ClientDirectory,
    blocks: BlockStore,
    outbox: Outbox,
) -> bool:
    """Unblock a client of the provider's practice; False when they were not blocked."""
    current = await blocks.get(provider_id, client_id)
    if current is None or current.practice_id != practice_id:
        if await clients.get(practice_id, client_id) is None:
            raise ClientNotFound()
        return False
    if not current.blocked:
        return False
    await _change(provider_id, client_id, blocks.unblock(provider_id, client_id), outbox)
    return True


async def list_blocked(
    provider_id: str, query: str | None, *, after: str | None, limit: int, blocks: BlockStore
) -> list[BlockedClient]:
    """The provider's blocked clients matching a name query, in name order."""
    return await blocks.list_blocked(provider_id, normalize_query(query), after=after, limit=limit)
