"""Delivery counts: how far an announcement got with each recipient, counted exactly once."""

from collections.abc import Mapping
from dataclasses import dataclass, field

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
