"""In-memory stand-ins for the blocking service's ports, for unit tests of its use cases.

They keep the stores' observable rules (one state per provider-client pair, a new
revision per change, clients seen only within their practice) and nothing else; the real stores are proven on the real database by the tests in
tests/blocking.
"""

from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from services.blocking.domain import Block, Client, block_id
from shared.clock import utcnow
from shared.events.base import Event
from shared.events.clients import ClientRecordChanged
from shared.ids import new_id
from shared.outbox import Document


@dataclass
class FakeClients:
    """The client projection, by client id."""

    clients: dict[str, Client] = field(default_factory=dict)

    def add(self, client: Client) -> Client:
        self.clients[client.client_id] = client
        return client

    async def upsert(self, record: ClientRecordChanged) -> None:
        client = Client(
            record.client_id,
            record.practice_id,
            record.first_name,
            record.last_name,
            record.status == "active",
        )
        self.clients[client.client_id] = client

    async def get_many(self, practice_id: str, client_ids: list[str]) -> list[Client]:
        found = [self.clients.get(c) for c in client_ids]
        return [c for c in found if c is not None and c.practice_id == practice_id]

    async def get(self, practice_id: str, client_id: str) -> Client | None:
        found = await self.get_many(practice_id, [client_id])
        return found[0] if found else None


@dataclass
class Pair:
    """A stored pair: its state, and when the client was blocked."""

    block: Block
    blocked_at: datetime


@dataclass
class FakeBlocks:
    """One state per provider-client pair."""

    pairs: dict[str, Pair] = field(default_factory=dict)
    vanish_before_unblock: bool = False

    async def get(self, provider_id: str, client_id: str) -> Block | None:
        return await self.by_id(block_id(provider_id, client_id))

    async def by_id(self, _id: str) -> Block | None:
        pair = self.pairs.get(_id)
        return pair.block if pair else None

    async def blocked_among(self, provider_id: str, client_ids: list[str]) -> set[str]:
        found = [await self.get(provider_id, c) for c in client_ids]
        return {b.client_id for b in found if b is not None and b.blocked}

    async def block(self, provider_id: str, client: Client) -> Block:
        now = utcnow()
        block = Block(provider_id, client.client_id, client.practice_id, True, new_id(), now)
        self.pairs[block.id] = Pair(block, now)
        return block

    async def unblock(self, provider_id: str, client_id: str) -> Block | None:
        _id = block_id(provider_id, client_id)
        if self.vanish_before_unblock:
            self.pairs.pop(_id, None)
        pair = self.pairs.get(_id)
        if pair is None:
            return None
        pair.block = replace(pair.block, blocked=False, rev=new_id(), changed_at=utcnow())
        return pair.block


@dataclass
class FakeLists:
    """The providers' block lists, as the pairs stand (the real ones follow their events)."""

    blocks: FakeBlocks
    waited: list[dict[str, bool]] = field(default_factory=list)

    async def apply(self, changed: list[tuple[str, int]]) -> None:
        pass  # derived from the pairs on each read

    async def blocked(self, provider_id: str) -> dict[str, datetime]:
        return {
            p.block.client_id: p.blocked_at
            for p in self.blocks.pairs.values()
            if p.block.provider_id == provider_id and p.block.blocked
        }

    async def wait_listed(
        self, provider_id: str, expected: dict[str, bool], *, timeout: float = 2.0
    ) -> bool:
        self.waited.append(expected)
        listed = await self.blocked(provider_id)
        return all((c in listed) == blocked for c, blocked in expected.items())


@dataclass
class FakeOutbox:
    """Records intents and what each published; nothing leaves the process."""

    intended: list[Document] = field(default_factory=list)
    open: dict[str, Document] = field(default_factory=dict)
    discarded: list[Document] = field(default_factory=list)
    published: list[Event] = field(default_factory=list)

    async def intend(self, kind: str, **ref: Any) -> Document:
        intent: dict[str, Any] = {"_id": new_id(), "kind": kind, "ref": ref}
        self.intended.append(intent)
        self.open[intent["_id"]] = intent
        return intent

    def discard(self, intent: Document) -> None:
        self.discarded.append(intent)
        self.open.pop(intent["_id"], None)

    async def publish_soon(self, intent: Document, events: list[Event]) -> bool:
        self.published += events
        self.open.pop(intent["_id"], None)
        return True
