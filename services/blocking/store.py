"""The blocking service's MongoDB access: the client projection and the block documents."""

import asyncio
import re
from collections.abc import Mapping
from typing import Any

from pymongo import ReturnDocument

from services.blocking.domain import Block, BlockedClient, Client, block_id
from shared.clock import utcnow
from shared.events.clients import ClientRecordChanged
from shared.mongo import find_by_id
from shared.outbox import new_revision


def _client(doc: Mapping[str, Any]) -> Client:
    return Client(
        client_id=doc["_id"],
        practice_id=doc["practice_id"],
        first_name=doc["first_name"],
        last_name=doc["last_name"],
        active=doc["status"] == "active",
    )


def _block(doc: Mapping[str, Any]) -> Block:
    return Block(
        provider_id=doc["provider_id"],
        client_id=doc["client_id"],
        practice_id=doc["practice_id"],
        blocked=doc["blocked"],
        rev=doc["rev"],
        changed_at=doc["changed_at"],
    )


def _names(client: Client) -> dict[str, str]:
    return {
        "first_name": client.first_name,
        "last_name": client.last_name,
        "search": client.search_text,
        "sort_key": client.sort_key,
    }


class ClientDirectory:
    """The local projection of `practice.clients.v1`."""

    def __init__(self, db: Any) -> None:
        self._clients = db["clients"]

    async def ensure_indexes(self) -> None:
        """Lookups are by `_id` within a practice."""
        await self._clients.create_index([("practice_id", 1)], name="practice")

    async def upsert(self, record: ClientRecordChanged) -> tuple[Client, Client | None]:
        """Store the latest record of a client; the client now, and as known before (if)."""
        before = await self._clients.find_one_and_update(
            {"_id": record.client_id},
            {
                "$set": {
                    "practice_id": record.practice_id,
                    "first_name": record.first_name,
                    "last_name": record.last_name,
                    "status": record.status,
                    "source_event_id": str(record.event_id),
                }
            },
            upsert=True,
            return_document=ReturnDocument.BEFORE,
        )
        client = Client(
            record.client_id,
            record.practice_id,
            record.first_name,
            record.last_name,
            record.status == "active",
        )
        return client, _client(before) if before is not None else None

    async def get_many(self, practice_id: str, client_ids: list[str]) -> list[Client]:
        """Those of the ids that are clients of the practice (others do not exist for it)."""
        docs = await asyncio.gather(
            *(find_by_id(self._clients, c, practice_id=practice_id) for c in client_ids)
        )
        return [_client(doc) for doc in docs if doc is not None]

    async def get(self, practice_id: str, client_id: str) -> Client | None:
        """A client of the given practice, or None."""
        found = await self.get_many(practice_id, [client_id])
        return found[0] if found else None


class BlockStore:
    """One document per provider-client pair, carrying its outbox state."""

    def __init__(self, db: Any) -> None:
        self._blocks = db["blocks"]

    async def ensure_indexes(self) -> None:
        """Indexes for the provider's list in name order and for renaming a client."""
        await self._blocks.create_index(
            [("provider_id", 1), ("blocked", 1), ("sort_key", 1)], name="provider_list"
        )
        await self._blocks.create_index([("client_id", 1)], name="client")

    async def get(self, provider_id: str, client_id: str) -> Block | None:
        """The pair's state, or None if the provider never blocked the client."""
        doc = await self._blocks.find_one({"_id": block_id(provider_id, client_id)})
        return _block(doc) if doc is not None else None

    async def blocked_among(self, provider_id: str, client_ids: list[str]) -> set[str]:
        """Which of the clients the provider has blocked now."""
        found = await asyncio.gather(*(self.get(provider_id, c) for c in client_ids))
        return {block.client_id for block in found if block is not None and block.blocked}

    async def by_id(self, _id: str) -> Block | None:
        """A pair's state by its id, for the outbox's recovery."""
        doc = await find_by_id(self._blocks, _id)
        return _block(doc) if doc is not None else None

    async def block(self, provider_id: str, client: Client) -> Block:
        """Mark the pair blocked as a new revision, in one write; the pair as written."""
        now = utcnow()
        doc: Mapping[str, Any] = await self._blocks.find_one_and_update(
            {"_id": block_id(provider_id, client.client_id)},
            {
                "$set": {
                    "provider_id": provider_id,
                    "client_id": client.client_id,
                    "practice_id": client.practice_id,
                    "blocked": True,
                    "blocked_at": now,
                    "updated_at": now,
                    **_names(client),
                    **new_revision(),
                },
                "$setOnInsert": {"created_at": now},
            },
            upsert=True,
            return_document=ReturnDocument.AFTER,
        )
        return _block(doc)

    async def unblock(self, provider_id: str, client_id: str) -> Block | None:
        """Mark the pair unblocked as a new revision, in one write; the pair as written."""
        now = utcnow()
        doc: Mapping[str, Any] | None = await self._blocks.find_one_and_update(
            {"_id": block_id(provider_id, client_id)},
            {
                "$set": {
                    "blocked": False,
                    "blocked_at": None,
                    "unblocked_at": now,
                    "updated_at": now,
                    **new_revision(),
                }
            },
            return_document=ReturnDocument.AFTER,
        )
        return _block(doc) if doc is not None else None

    async def rename(self, client: Client) -> None:
        """Keep the names shown and searched in block lists current (no event: not in it)."""
        await self._blocks.update_many({"client_id": client.client_id}, {"$set": _names(client)})

    async def list_blocked(
        self, provider_id: str, query: str | None, *, after: str | None, limit: int
    ) -> list[BlockedClient]:
        """The provider's blocked clients whose name contains the query, in name order."""
        where: dict[str, Any] = {"provider_id": provider_id, "blocked": True}
        if query:
            where["search"] = {"$regex": re.escape(query)}
        if after:
            where["sort_key"] = {"$gt": after}
        cursor = self._blocks.find(where).sort("sort_key", 1).limit(limit)
        return [
            BlockedClient(
                client_id=doc["client_id"],
                first_name=doc["first_name"],
                last_name=doc["last_name"],
                blocked_at=doc["blocked_at"],
                sort_key=doc["sort_key"],
            )
            async for doc in cursor
        ]
