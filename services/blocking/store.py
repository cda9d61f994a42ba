"""The blocking service's MongoDB access: the client projection and the block documents."""

import asyncio
import time
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from pymongo import ReturnDocument

from services.blocking.domain import Block, Client, block_id
from shared.clock import utcnow
from shared.events.clients import ClientRecordChanged
from shared.mongo import drop_index, find_by_id, find_each, upsert
from shared.outbox import new_revision
from shared.rosters import Rosters, roster_id


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


class ClientDirectory:
    """The local projection of `practice.clients.v1`."""

    def __init__(self, db: Any) -> None:
        self._clients = db["clients"]

    async def ensure_indexes(self) -> None:
        """None: lookups are by `_id` (the practice is checked on the document). The index
        earlier versions kept goes, or every client record keeps maintaining it."""
        await drop_index(self._clients, "practice")

    async def upsert(self, record: ClientRecordChanged) -> None:
        """Store the latest record of a client (replaying it changes nothing)."""
        await upsert(
            self._clients,
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
        )

    async def get_many(self, practice_id: str, client_ids: list[str]) -> list[Client]:
        """Those of the ids that are clients of the practice (others do not exist for it)."""
        docs = await find_each(self._clients, client_ids)
        return [_client(d) for d in docs if d is not None and d["practice_id"] == practice_id]

    async def get(self, practice_id: str, client_id: str) -> Client | None:
        """A client of the given practice, or None."""
        found = await self.get_many(practice_id, [client_id])
        return found[0] if found else None


class BlockStore:
    """One document per provider-client pair, carrying its outbox state."""

    def __init__(self, db: Any) -> None:
        self._blocks = db["blocks"]

    async def ensure_indexes(self) -> None:
        """None: a pair is read by `_id`, the lists are `BlockListStore`'s. The indexes of the
        queries that did (before) go, or every block keeps maintaining them."""
        for name in ("provider_list", "client"):
            await drop_index(self._blocks, name)

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


class BlockListStore:
    """Each provider's blocked clients, on rosters per partition of `messaging.blocks.v1`
    (`shared.rosters`): the consumer owning a partition is their only writer, and a list
    is read by `_id` whatever the other providers hold.

    Entries hold the client's id and when they were blocked; their names are read from the
    client projection when the list is, so a rename changes one client document only.
    """

    def __init__(self, db: Any, *, partitions: int) -> None:
        self._blocks = db["blocks"]
        self._rosters = Rosters(db["block_lists"], db["block_list_pages"], partitions=partitions)

    async def apply(self, changed: list[tuple[str, int]]) -> None:
        """Bring the lists up to date with pairs that changed, each with the partition its
        event came from: the pair's stored state decides, so an event replayed or arriving
        out of order changes nothing."""
        partition_of = dict(changed)
        if not partition_of:
            return
        self._rosters.observe_partitions(max(partition_of.values()) + 1)
        ids = list(partition_of)
        pairs = [doc for doc in await find_each(self._blocks, ids) if doc is not None]
        roster_of = {p["_id"]: roster_id(p["provider_id"], partition_of[p["_id"]]) for p in pairs}
        rosters = await self._rosters.load(roster_of.values())
        for pair in pairs:
            roster = rosters[roster_of[pair["_id"]]]
            if pair["blocked"]:
                roster.put({"id": pair["client_id"], "blocked_at": pair["blocked_at"]})
            else:
                roster.remove(pair["client_id"])
        await self._rosters.save(rosters.values())

    async def blocked(self, provider_id: str) -> dict[str, datetime]:
        """The provider's blocked clients, with when each was blocked."""
        return {e["id"]: e["blocked_at"] for e in await self._rosters.entries(provider_id)}

    async def wait_listed(
        self, provider_id: str, expected: dict[str, bool], *, timeout: float = 2.0
    ) -> bool:
        """Wait (bounded) until the provider's list shows each client blocked or not as
        expected: a provider's own change is in their list when their request ends."""
        deadline = time.monotonic() + timeout
        delay = 0.002
        while True:
            listed = await self.blocked(provider_id)
            if all((c in listed) == blocked for c, blocked in expected.items()):
                return True
            if time.monotonic() >= deadline:
                return False
            await asyncio.sleep(delay)
            delay = min(delay * 2, 0.05)
