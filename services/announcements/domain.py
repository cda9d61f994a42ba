"""Announcements domain: entities, rules and domain errors, free of I/O."""

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Generic, TypeVar

T = TypeVar("T")

# The most recipients any announcement may have (a deployment may set a lower limit).
MAX_RECIPIENTS = 50_000

# Channels that notify a recipient (the inbox holds the announcement, "live" only nudges).
NOTIFY_CHANNELS = frozenset({"push", "email"})


class DomainError(Exception):
    """A rule of the domain refused the request."""


class RecipientsRejected(DomainError):
    """The chosen recipients cannot receive this announcement."""


class UnknownRecipients(RecipientsRejected):
    """Some chosen ids are not clients of the author's practice (which ones is not said)."""


class NoRecipients(RecipientsRejected):
    """The recipients resolve to nobody."""


class TooManyRecipients(RecipientsRejected):
    """More recipients than one announcement may have."""


class AnnouncementNotFound(DomainError):
    """No such announcement, or the caller may not see it."""


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
        return Draft(
            practice_id=self.practice_id,
            author_id=self.author_id,
            idempotency_key=self.idempotency_key,
            body=self.body,
            subject=self.subject,
            recipient_ids=recipient_ids,
        )


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
class Tally:
    """Delivery counts in distinct recipients (of one announcement, or a share of one)."""

    delivered: int = 0
    notified: int = 0
    failed: int = 0

    def __add__(self, other: "Tally") -> "Tally":
        return Tally(
            self.delivered + other.delivered,
            self.notified + other.notified,
            self.failed + other.failed,
        )

    def __sub__(self, other: "Tally") -> "Tally":
        return Tally(
            self.delivered - other.delivered,
            self.notified - other.notified,
            self.failed - other.failed,
        )


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


@dataclass(frozen=True)
class Reach:
    """How far an announcement got with one recipient: each stage ever reached.

    Stages are only ever reached, never left, so redelivered and reordered outcomes change
    nothing; a recipient counts as failed while every notification attempt failed, so a
    later "sent" outranks an earlier "failed".
    """

    delivered: bool = False
    sent: bool = False
    failed: bool = False

    def after(self, channel: str, status: str) -> "Reach":
        """The reach once this channel's outcome is known."""
        notifying = channel in NOTIFY_CHANNELS
        return Reach(
            delivered=self.delivered or (channel == "inbox" and status == "delivered"),
            sent=self.sent or (notifying and status == "sent"),
            failed=self.failed or (notifying and status == "failed"),
        )

    def tally(self) -> Tally:
        """This recipient's share of the announcement's counts."""
        return Tally(int(self.delivered), int(self.sent), int(self.failed and not self.sent))


@dataclass(frozen=True)
class Counter:
    """One partition's share of an announcement's counts, up to an offset."""

    tally: Tally = field(default_factory=Tally)
    offset: int = -1

    def counting(self, offset: int, before: Reach, after: Reach) -> "Counter":
        """The counter once the outcome at `offset` moved a recipient from `before` to
        `after`; itself when it includes that offset already (a redelivery)."""
        if offset <= self.offset:
            return self
        return Counter(self.tally + after.tally() - before.tally(), offset)


@dataclass(frozen=True)
class Outcome:
    """One channel's delivery outcome for one recipient, at its position in the topic."""

    announcement_id: str
    practice_id: str
    recipient_id: str
    channel: str
    status: str
    partition: int
    offset: int

    @property
    def counter_key(self) -> tuple[str, int]:
        """Whose counter it changes: its announcement's, in its partition."""
        return (self.announcement_id, self.partition)

    @property
    def reach_key(self) -> tuple[str, str]:
        """Whose reach it changes: its recipient's, of its announcement."""
        return (self.announcement_id, self.recipient_id)


@dataclass(frozen=True)
class Counted:
    """A batch of outcomes applied: the counters it changed and every reach it touched."""

    counters: dict[tuple[str, int], Counter]
    reaches: dict[tuple[str, str], Reach]


def count_outcomes(
    ordered: list[Outcome],
    counters: Mapping[tuple[str, int], Counter],
    reaches: Mapping[tuple[str, str], Reach],
) -> Counted:
    """Apply outcomes (in partition and offset order) to the counters and reaches read for
    them: each recipient's reach moves on, each counter counts what it does not hold yet."""
    now_counters, now_reaches = dict(counters), dict(reaches)
    changed: set[tuple[str, int]] = set()
    for o in ordered:
        before = now_reaches.get(o.reach_key, Reach())
        after = now_reaches[o.reach_key] = before.after(o.channel, o.status)
        counter = now_counters.get(o.counter_key, Counter())
        moved = counter.counting(o.offset, before, after)
        if moved is not counter:
            now_counters[o.counter_key] = moved
            changed.add(o.counter_key)
    return Counted(
        counters={key: now_counters[key] for key in changed},
        reaches={key: now_reaches[key] for key in dict.fromkeys(o.reach_key for o in ordered)},
    )
