"""The stores and outbox the use cases need, as ports: the composition root plugs in the
MongoDB stores, unit tests plug in small in-memory ones (tests/unit/blocking/fakes.py)."""

from datetime import datetime
from typing import Any, Protocol

from services.blocking.domain import Block, Client
from shared.events.base import Event
from shared.events.clients import ClientRecordChanged
from shared.outbox import Document


class ClientsPort(Protocol):
    """The local projection of the practices' client directories."""

    async def upsert(self, record: ClientRecordChanged) -> None: ...

    async def get_many(self, practice_id: str, client_ids: list[str]) -> list[Client]: ...

    async def get(self, practice_id: str, client_id: str) -> Client | None: ...


class BlocksPort(Protocol):
    """Each provider-client pair's block state."""

    async def get(self, provider_id: str, client_id: str) -> Block | None: ...

    async def by_id(self, _id: str) -> Block | None: ...

    async def blocked_among(self, provider_id: str, client_ids: list[str]) -> set[str]: ...

    async def block(self, provider_id: str, client: Client) -> Block: ...

    async def unblock(self, provider_id: str, client_id: str) -> Block | None: ...


class ListsPort(Protocol):
    """Each provider's block list, kept from the pairs' events."""

    async def apply(self, changed: list[tuple[str, int]]) -> None: ...

    async def blocked(self, provider_id: str) -> dict[str, datetime]: ...

    async def wait_listed(
        self, provider_id: str, expected: dict[str, bool], *, timeout: float = 2.0
    ) -> bool: ...


class OutboxPort(Protocol):
    """Intents before changes, events after them."""

    async def intend(self, kind: str, **ref: Any) -> Document: ...

    def discard(self, intent: Document) -> None: ...

    async def publish_soon(self, intent: Document, events: list[Event]) -> bool: ...
