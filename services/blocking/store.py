"""The blocking service's MongoDB access: the client projection and the block documents."""

import asyncio
import re
from collections.abc import Mapping
from typing import Any

from pymongo import ReturnDocument

from services.blocking.domain import Block, BlockedClient, Client, block_id
from shared.clock import utcnow
from shared.events.base import Event
from shared.events.blocks import BlockChanged
from shared.events.clients import ClientRecordChanged
from shared.ids import stable_uuid
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

    async def upsert(self, record: ClientRecordChanged) -> tuple[Client, bool]:
        """Store the latest record of a client; and whether a known client's name changed.

        Only a rename needs the block lists updated (a search), not every record.
        """
        client = Client(
            record.client_id,
            record.practice_id,
            record.first_name,
            record.last_name,
            record.status == "active",
        )
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
        renamed = before is not None and (before.get("first_name"), before.get("last_name")) != (
            record.first_name,
            record.last_name,
        )
        return client, renamed

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


async def derive_block_events(doc: Mapping[str, Any]) -> list[Event]:
    """The event a block document's revision publishes (id stable per revision)."""
    return [
        BlockChanged(
            event_id=stable_uuid(doc["_id"], doc["rev"], "block"),
            occurred_at=doc["changed_at"],
            practice_id=doc["practice_id"],
            provider_id=doc["provider_id"],
            client_id=doc["client_id"],
            blocked=doc["blocked"],
        )
    ]


class BlockStore:
    """One document per provider-client pair, carrying its outbox state."""

    def __init__(self, db: Any) -> None:
        self._blocks = db["blocks"]

    @property
    def collection(self) -> Any:
        """The collection the outbox relays from."""
        return self._blocks

    async def ensure_indexes(self) -> None:
        """Indexes for the provider's list in name order and for renaming a client."""
        await self._blocks.create_index(
            [("provider_id", 1), ("blocked", 1), ("sort_key", 1)], name="provider_list"
        )
        await self._blocks.create_index([("client_id", 1)], name="client")

    async def get(self, provider_id: str, client_id: str) -> Block | None:
        """The pair's state, or None if the provider never blocked the client."""
        doc = await self._blocks.find_one({"_id": block_id(provider_id, client_id)})
        if doc is None:
            return None
        return Block(doc["provider_id"], doc["client_id"], doc["practice_id"], doc["blocked"])

    async def blocked_among(self, provider_id: str, client_ids: list[str]) -> set[str]:
        """Which of the clients the provider has blocked now."""
        found = await asyncio.gather(*(self.get(provider_id, c) for c in client_ids))
        return {block.client_id for block in found if block is not None and block.blocked}

    async def by_id(self, _id: str) -> Mapping[str, Any] | None:
        """A pair's stored document, for the outbox's recovery."""
        doc: Mapping[str, Any] | None = await find_by_id(self._blocks, _id)
        return doc

    async def recover_events(self, ref: Mapping[str, Any]) -> list[Event]:
        """The event of a pair's current state, for an intent left behind."""
        doc = await self.by_id(ref["id"])
        return await derive_block_events(doc) if doc is not None else []

    async def block(self, provider_id: str, client: Client) -> Mapping[str, Any]:
        """Mark the pair blocked with a pending event, in one write; the written document."""
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
        return doc

    async def unblock(self, provider_id: str, client_id: str) -> Mapping[str, Any] | None:
        """Mark the pair unblocked with a pending event, in one write; the written document."""
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
        return doc

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
