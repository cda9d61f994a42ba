"""Announcements domain: entities and rules, free of I/O."""

from dataclasses import dataclass, field
from datetime import datetime

# The most recipients any announcement may have (a deployment may set a lower limit).
MAX_RECIPIENTS = 50_000


class RecipientsRejected(Exception):
    """The chosen recipients cannot receive this announcement."""

    code = "invalid_recipients"


class UnknownRecipients(RecipientsRejected):
    """Some chosen ids are not clients of the author's practice (which ones is not said)."""

    code = "unknown_recipients"


class NoRecipients(RecipientsRejected):
    """The recipients resolve to nobody."""

    code = "no_recipients"


class TooManyRecipients(RecipientsRejected):
    """More recipients than one announcement may have."""

    code = "too_many_recipients"


class AnnouncementNotFound(Exception):
    """No such announcement, or the caller may not see it."""


@dataclass(frozen=True)
class Recipients:
    """Who an announcement goes to: chosen clients, or every active client of the practice."""

    client_ids: tuple[str, ...] = ()
    all_clients: bool = False


@dataclass(frozen=True)
class NewAnnouncement:
    """A provider's request to send an announcement."""

    practice_id: str
    author_id: str
    idempotency_key: str
    body: str
    subject: str | None
    recipients: Recipients


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


@dataclass(frozen=True)
class InboxItem:
    """An announcement as one of its recipients sees it."""

    announcement: Announcement
    read: bool


def unique_in_order(ids: tuple[str, ...] | list[str]) -> tuple[str, ...]:
    """The ids without repeats, first occurrence kept."""
    return tuple(dict.fromkeys(ids))


def check_recipient_count(count: int, maximum: int) -> None:
    """Refuse an announcement to nobody or to more clients than allowed."""
    if count == 0:
        raise NoRecipients()
    if count > maximum:
        raise TooManyRecipients()


def split_parts(recipient_ids: list[str], per_part: int) -> list[list[str]]:
    """Recipient ids in consecutive parts of at most `per_part` ids (at least one part)."""
    if not recipient_ids:
        return [[]]
    return [recipient_ids[i : i + per_part] for i in range(0, len(recipient_ids), per_part)]


def sort_key(created_at: datetime, announcement_id: str) -> str:
    """Position in creation order; the id breaks ties."""
    return f"{created_at:%Y%m%dT%H%M%S.%f}|{announcement_id}"


# Channels that notify a recipient (the inbox holds the announcement, "live" only nudges).
NOTIFY_CHANNELS = frozenset({"push", "email"})


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
class Outcome:
    """One channel's delivery outcome for one recipient, at its position in the topic."""

    announcement_id: str
    practice_id: str
    recipient_id: str
    channel: str
    status: str
    partition: int
    offset: int
