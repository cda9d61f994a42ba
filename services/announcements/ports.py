"""The stores, outbox and limiter the use cases need, as ports: the composition root plugs
in the MongoDB stores, unit tests plug in small in-memory ones
(tests/unit/announcements/fakes.py)."""

from typing import Any, Protocol

from services.announcements.domain import (
    Announcement,
    Draft,
    Outcome,
    Page,
    Publication,
    Receipt,
    Tally,
)
from shared.events.base import Event
from shared.events.clients import ClientRecordChanged
from shared.outbox import Document


class ClientsPort(Protocol):
    """The local projection of who is a client of which practice."""

    async def apply(self, records: list[tuple[ClientRecordChanged, int]]) -> None: ...

    async def known(self, practice_id: str, client_ids: tuple[str, ...]) -> set[str]: ...

    async def count_active(self, practice_id: str) -> int: ...

    async def active_ids(self, practice_id: str) -> tuple[str, ...]: ...


class AnnouncementsPort(Protocol):
    """Announcements with their recipients, texts sealed at rest."""

    async def insert(self, announcement_id: str, draft: Draft) -> Publication | None: ...

    async def publication(self, announcement_id: str) -> Publication | None: ...

    async def find_receipt(self, author_id: str, idempotency_key: str) -> Receipt | None: ...

    async def get(self, announcement_id: str) -> Announcement | None: ...

    async def list_published(self, published: list[tuple[str, int]]) -> None: ...

    async def by_author(
        self, practice_id: str, author_id: str, *, after: str | None, limit: int
    ) -> Page[Announcement]: ...

    async def addressed_to(
        self, practice_id: str, client_id: str, *, after: str | None, limit: int
    ) -> Page[Announcement]: ...

    async def get_addressed_to(
        self, announcement_id: str, practice_id: str, client_id: str
    ) -> Announcement | None: ...

    async def is_addressed_to(
        self, announcement_id: str, practice_id: str, client_id: str
    ) -> bool: ...


class DeliveryCountsPort(Protocol):
    """Delivery counts kept per announcement and partition as outcomes arrive."""

    async def apply(self, outcomes: list[Outcome]) -> None: ...

    async def tally(self, announcement_id: str) -> Tally: ...


class ReadMarksPort(Protocol):
    """Read marks, and gap-free slots counting the readers of each announcement."""

    async def claim_start(self, announcement_id: str) -> int: ...

    async def insert_mark(self, announcement_id: str, client_id: str, claim_from: int) -> bool: ...

    async def claim(
        self, announcement_id: str, client_id: str, start: int, *, recovering: bool = False
    ) -> int: ...

    async def claim_from(self, announcement_id: str, client_id: str) -> int | None: ...

    async def read_among(self, client_id: str, announcement_ids: list[str]) -> set[str]: ...

    async def count(self, announcement_id: str) -> int: ...


class OutboxPort(Protocol):
    """Intents before changes, events after them."""

    async def intend(self, kind: str, **ref: Any) -> Document: ...

    def discard(self, intent: Document) -> None: ...

    async def publish(self, intent: Document, events: list[Event]) -> None: ...

    async def publish_soon(self, intent: Document, events: list[Event]) -> bool: ...


class RateLimitPort(Protocol):
    """A per-key limit on how often something may happen."""

    async def acquire(self, key: str) -> None: ...
