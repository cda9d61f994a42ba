"""In-memory stand-ins for the announcements service's ports, for unit tests of its use cases.

They keep the stores' observable rules (one announcement per author's idempotency key,
one mark per reader, gap-free read slots, counters that hold what they counted up to an
offset) and nothing else; the real stores are proven on the real database by
tests/announcements.
"""

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from services.announcements.domain import (
    Announcement,
    Counter,
    Draft,
    Outcome,
    Page,
    Publication,
    Reach,
    Receipt,
    Tally,
    count_outcomes,
    sort_key,
)
from shared.clock import utcnow
from shared.events.base import Event
from shared.events.clients import ClientRecordChanged
from shared.ids import new_id
from shared.outbox import Document
from shared.ratelimit import RateLimited


@dataclass
class FakeClients:
    """Clients by id: (practice, status); remembers how often it was asked."""

    clients: dict[str, tuple[str, str]] = field(default_factory=dict)
    lookups: int = 0

    async def apply(self, records: list[tuple[ClientRecordChanged, int]]) -> None:
        for record, _ in records:
            self.clients[record.client_id] = (record.practice_id, record.status)

    async def known(self, practice_id: str, client_ids: tuple[str, ...]) -> set[str]:
        self.lookups += 1
        return {c for c in client_ids if self.clients.get(c, ("", ""))[0] == practice_id}

    async def count_active(self, practice_id: str) -> int:
        self.lookups += 1
        return len(self._active(practice_id))

    async def active_ids(self, practice_id: str) -> tuple[str, ...]:
        self.lookups += 1
        return self._active(practice_id)

    def _active(self, practice_id: str) -> tuple[str, ...]:
        return tuple(sorted(c for c, v in self.clients.items() if v == (practice_id, "active")))


@dataclass(frozen=True)
class Stored:
    """An announcement as the fake keeps it."""

    draft: Draft
    publication: Publication
    sort_key: str


@dataclass
class FakeAnnouncements:
    """Announcements by id, unique per (author, idempotency key), each created after the last."""

    stored: dict[str, Stored] = field(default_factory=dict)
    last_created: datetime = field(default_factory=lambda: datetime.min.replace(tzinfo=UTC))

    async def insert(self, announcement_id: str, draft: Draft) -> Publication | None:
        if any(
            (s.draft.author_id, s.draft.idempotency_key) == (draft.author_id, draft.idempotency_key)
            for s in self.stored.values()
        ):
            return None
        created_at = max(utcnow(), self.last_created + timedelta(microseconds=1))
        self.last_created = created_at
        publication = Publication(
            announcement_id=announcement_id,
            practice_id=draft.practice_id,
            author_id=draft.author_id,
            recipient_ids=draft.recipient_ids,
            created_at=created_at,
            revision=new_id(),
        )
        self.stored[announcement_id] = Stored(
            draft, publication, sort_key(created_at, announcement_id)
        )
        return publication

    async def publication(self, announcement_id: str) -> Publication | None:
        found = self.stored.get(announcement_id)
        return found.publication if found else None

    async def find_receipt(self, author_id: str, idempotency_key: str) -> Receipt | None:
        for s in self.stored.values():
            if (s.draft.author_id, s.draft.idempotency_key) == (author_id, idempotency_key):
                return s.publication.receipt()
        return None

    async def get(self, announcement_id: str) -> Announcement | None:
        found = self.stored.get(announcement_id)
        return _announcement(found) if found else None

    async def list_published(self, published: list[tuple[str, int]]) -> None:
        """Nothing to keep: the lists above read `stored` itself."""

    async def by_author(
        self, practice_id: str, author_id: str, *, after: str | None, limit: int
    ) -> Page[Announcement]:
        return self._page(
            lambda s: (s.draft.practice_id, s.draft.author_id) == (practice_id, author_id),
            after,
            limit,
        )

    async def addressed_to(
        self, practice_id: str, client_id: str, *, after: str | None, limit: int
    ) -> Page[Announcement]:
        return self._page(
            lambda s: s.draft.practice_id == practice_id and client_id in s.draft.recipient_ids,
            after,
            limit,
        )

    async def get_addressed_to(
        self, announcement_id: str, practice_id: str, client_id: str
    ) -> Announcement | None:
        found = self.stored.get(announcement_id)
        if found is None or found.draft.practice_id != practice_id:
            return None
        return _announcement(found) if client_id in found.draft.recipient_ids else None

    async def is_addressed_to(self, announcement_id: str, practice_id: str, client_id: str) -> bool:
        return await self.get_addressed_to(announcement_id, practice_id, client_id) is not None

    def _page(
        self, where: Callable[[Stored], bool], after: str | None, limit: int
    ) -> Page[Announcement]:
        found = sorted(
            (s for s in self.stored.values() if where(s) and (not after or s.sort_key < after)),
            key=lambda s: s.sort_key,
            reverse=True,
        )
        return Page.of([_announcement(s) for s in found[: limit + 1]], limit)


def _announcement(s: Stored) -> Announcement:
    return Announcement(
        announcement_id=s.publication.announcement_id,
        practice_id=s.draft.practice_id,
        author_id=s.draft.author_id,
        subject=s.draft.subject,
        body=s.draft.body,
        created_at=s.publication.created_at,
        recipient_count=s.publication.recipient_count,
        sort_key=s.sort_key,
    )


@dataclass
class FakeCounts:
    """Counters per (announcement, partition) and reaches per (announcement, recipient)."""

    counters: dict[tuple[str, int], Counter] = field(default_factory=dict)
    reaches: dict[tuple[str, str], Reach] = field(default_factory=dict)
    applied: list[list[Outcome]] = field(default_factory=list)

    async def apply(self, outcomes: list[Outcome]) -> None:
        self.applied.append(outcomes)
        ordered = sorted(outcomes, key=lambda o: (o.partition, o.offset))
        counted = count_outcomes(ordered, self.counters, self.reaches)
        self.counters.update(counted.counters)
        self.reaches.update(counted.reaches)

    async def tally(self, announcement_id: str) -> Tally:
        total = Tally()
        for (a, _), counter in self.counters.items():
            if a == announcement_id:
                total = total + counter.tally
        return total


@dataclass
class FakeReads:
    """Read marks (with where each began its claim) and each announcement's taken slots."""

    marks: dict[tuple[str, str], int] = field(default_factory=dict)
    slots: dict[tuple[str, int], str] = field(default_factory=dict)

    async def claim_start(self, announcement_id: str) -> int:
        return 0

    async def insert_mark(self, announcement_id: str, client_id: str, claim_from: int) -> bool:
        if (announcement_id, client_id) in self.marks:
            return False
        self.marks[(announcement_id, client_id)] = claim_from
        return True

    async def claim(
        self, announcement_id: str, client_id: str, start: int, *, recovering: bool = False
    ) -> int:
        slot = start + 1
        while (announcement_id, slot) in self.slots:
            if recovering and self.slots[(announcement_id, slot)] == client_id:
                return slot
            slot += 1
        self.slots[(announcement_id, slot)] = client_id
        return slot

    async def claim_from(self, announcement_id: str, client_id: str) -> int | None:
        return self.marks.get((announcement_id, client_id))

    async def read_among(self, client_id: str, announcement_ids: list[str]) -> set[str]:
        return {a for a in announcement_ids if (a, client_id) in self.marks}

    async def count(self, announcement_id: str) -> int:
        top = 0
        while (announcement_id, top + 1) in self.slots:
            top += 1
        return top


@dataclass
class FakeOutbox:
    """Records intents and what each published; nothing leaves the process."""

    open: dict[str, Document] = field(default_factory=dict)
    published: list[Event] = field(default_factory=list)
    intended: list[Document] = field(default_factory=list)

    async def intend(self, kind: str, **ref: Any) -> Document:
        intent: dict[str, Any] = {"_id": new_id(), "kind": kind, "ref": ref}
        self.open[intent["_id"]] = intent
        self.intended.append(intent)
        return intent

    def discard(self, intent: Document) -> None:
        self.open.pop(intent["_id"], None)

    async def publish(self, intent: Document, events: list[Event]) -> None:
        self.published += events
        self.open.pop(intent["_id"], None)

    async def publish_soon(self, intent: Document, events: list[Event]) -> bool:
        await self.publish(intent, events)
        return True


@dataclass
class FakeLimit:
    """Allows `allowed` acquisitions per key, then refuses as the real limiter does."""

    allowed: int = 1_000
    spent: dict[str, int] = field(default_factory=dict)

    async def acquire(self, key: str) -> None:
        if self.spent.get(key, 0) >= self.allowed:
            raise RateLimited(60)
        self.spent[key] = self.spent.get(key, 0) + 1
