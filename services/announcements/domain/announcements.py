"""Announcements: their recipients, what is stored and published, and what readers see."""

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Generic, TypeVar

from services.announcements.domain.deliveries import Tally
from services.announcements.domain.errors import (
    NoRecipients,
    TooManyRecipients,
    UnknownRecipients,
)
from shared.ids import stable_uuid

T = TypeVar("T")

# The most recipients any announcement may have (a deployment may set a lower limit).
MAX_RECIPIENTS = 50_000


def check_recipient_count(count: int, maximum: int) -> None:
    """Refuse an announcement to nobody or to more clients than allowed."""
    if count == 0:
        raise NoRecipients()
    if count > maximum:
        raise TooManyRecipients()


def check_all_known(ids: tuple[str, ...], known: set[str]) -> None:
    """Refuse chosen recipients unless every one is a client of the practice."""
    if len(known) != len(ids):
        raise UnknownRecipients()


def unique_in_order(ids: Iterable[str]) -> tuple[str, ...]:
    """The ids without repeats, first occurrence kept."""
    return tuple(dict.fromkeys(ids))


def split_parts(recipient_ids: list[str], per_part: int) -> list[list[str]]:
    """Recipient ids in consecutive parts of at most `per_part` ids (at least one part)."""
    if not recipient_ids:
        return [[]]
    return [recipient_ids[i : i + per_part] for i in range(0, len(recipient_ids), per_part)]


def announcement_id_for(author_id: str, idempotency_key: str) -> str:
    """The one announcement id an author's idempotency key can produce.

    Derived, so a repeated key finds its announcement by `_id` and the `_id` index itself
    turns a concurrent duplicate away.
    """
    return str(stable_uuid("announcement", author_id, idempotency_key))


def sort_key(created_at: datetime, announcement_id: str) -> str:
    """Position in creation order; the id breaks ties."""
    return f"{created_at:%Y%m%dT%H%M%S.%f}|{announcement_id}"


@dataclass(frozen=True)
class Recipients:
    """Who an announcement goes to: chosen clients, or every active client of the practice."""

    client_ids: tuple[str, ...] = ()
    all_clients: bool = False

    def chosen(self, maximum: int) -> tuple[str, ...]:
        """The chosen ids without repeats, refusing none or too many.

        Counted before de-duplication too: a list of repeats is no cheaper to handle.
        """
        check_recipient_count(len(self.client_ids), maximum)
        return unique_in_order(self.client_ids)


@dataclass(frozen=True)
class NewAnnouncement:
    """A provider's request to send an announcement."""

    practice_id: str
    author_id: str
    idempotency_key: str
    body: str
    subject: str | None
    recipients: Recipients

    def draft(self, recipient_ids: tuple[str, ...]) -> "Draft":
        """The announcement to store, once its recipients are resolved."""
        who = (self.practice_id, self.author_id, self.idempotency_key)
        return Draft(*who, body=self.body, subject=self.subject, recipient_ids=recipient_ids)


@dataclass(frozen=True)
class Receipt:
    """What the author learns on sending: which announcement, to how many."""

    announcement_id: str
    recipient_count: int


@dataclass(frozen=True)
class Draft:
    """An announcement as its author submits it, recipients already resolved."""

    practice_id: str
    author_id: str
    idempotency_key: str
    body: str
    subject: str | None
    recipient_ids: tuple[str, ...]


@dataclass(frozen=True)
class Publication:
    """A stored announcement as it is published: whom it goes to, at which revision, no text."""

    announcement_id: str
    practice_id: str
    author_id: str
    recipient_ids: tuple[str, ...]
    created_at: datetime
    revision: str

    @property
    def recipient_count(self) -> int:
        """How many clients the announcement goes to."""
        return len(self.recipient_ids)

    def parts(self, per_part: int) -> list[list[str]]:
        """The recipient ids in the parts they are published in."""
        return split_parts(list(self.recipient_ids), per_part)

    def receipt(self) -> Receipt:
        """What its author learns of it."""
        return Receipt(self.announcement_id, self.recipient_count)


@dataclass(frozen=True)
class Stats:
    """How far an announcement got, counted in distinct recipients."""

    recipients: int
    delivered: int
    notified: int
    failed: int
    read: int


@dataclass(frozen=True)
class Announcement:
    """A stored announcement, decrypted for a reader allowed to see it."""

    announcement_id: str
    practice_id: str
    author_id: str
    subject: str | None
    body: str
    created_at: datetime
    recipient_count: int
    sort_key: str = field(repr=False, default="")

    def is_by(self, practice_id: str, author_id: str) -> bool:
        """Whether this author of this practice sent it (no one else may see it as sent)."""
        return self.author_id == author_id and self.practice_id == practice_id

    def stats(self, tally: Tally, read: int) -> Stats:
        """Its stats from the delivery counts kept for it and how many read it."""
        return Stats(
            recipients=self.recipient_count,
            delivered=tally.delivered,
            notified=tally.notified,
            failed=tally.failed,
            read=read,
        )


@dataclass(frozen=True)
class SentItem:
    """An announcement as its author sees it: with its stats."""

    announcement: Announcement
    stats: Stats


@dataclass(frozen=True)
class InboxItem:
    """An announcement as one of its recipients sees it."""

    announcement: Announcement
    read: bool


@dataclass(frozen=True)
class Page(Generic[T]):
    """A page of a newest-first list, and the sort key the next page starts after."""

    items: list[T]
    next_after: str | None

    @staticmethod
    def of(found: list[Announcement], limit: int) -> "Page[Announcement]":
        """The first `limit` announcements of `found` (fetched with one extra)."""
        more = len(found) > limit
        return Page(found[:limit], found[limit - 1].sort_key if more else None)
