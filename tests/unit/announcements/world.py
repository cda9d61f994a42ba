"""The announcements use cases bound to fresh in-memory ports, as app.py binds the real ones."""

from dataclasses import dataclass, field

from services.announcements.domain import NewAnnouncement, Recipients
from services.announcements.handlers.inbox import Inbox
from services.announcements.handlers.projections import Projections
from services.announcements.handlers.sending import Sending
from services.announcements.handlers.sent import SentAnnouncements
from shared.ids import new_id
from tests.unit.announcements.fakes import (
    FakeAnnouncements,
    FakeClients,
    FakeCounts,
    FakeLimit,
    FakeOutbox,
    FakeReads,
)

PRACTICE, AUTHOR = "pr1", "p1"


@dataclass
class World:
    """Use cases and the fakes behind them."""

    clients: FakeClients = field(
        default_factory=lambda: FakeClients(
            {
                "a": (PRACTICE, "active"),
                "b": (PRACTICE, "active"),
                "c": (PRACTICE, "active"),
                "gone": (PRACTICE, "inactive"),
                "other": ("pr2", "active"),
            }
        )
    )
    announcements: FakeAnnouncements = field(default_factory=FakeAnnouncements)
    counts: FakeCounts = field(default_factory=FakeCounts)
    reads: FakeReads = field(default_factory=FakeReads)
    outbox: FakeOutbox = field(default_factory=FakeOutbox)
    limit: FakeLimit = field(default_factory=FakeLimit)
    max_recipients: int = 10
    per_part: int = 2

    @property
    def sending(self) -> Sending:
        """Sending, bound to this world's fakes."""
        return Sending(
            clients=self.clients,
            announcements=self.announcements,
            outbox=self.outbox,
            limit=self.limit,
            max_recipients=self.max_recipients,
            per_part=self.per_part,
        )

    @property
    def sent(self) -> SentAnnouncements:
        """The author's view, bound to this world's fakes."""
        return SentAnnouncements(
            announcements=self.announcements, counts=self.counts, reads=self.reads
        )

    @property
    def inbox(self) -> Inbox:
        """The recipients' view, bound to this world's fakes."""
        return Inbox(announcements=self.announcements, reads=self.reads, outbox=self.outbox)

    @property
    def projections(self) -> Projections:
        """The consumers' use cases, bound to this world's fakes."""
        return Projections(clients=self.clients, counts=self.counts)


def new_announcement(
    recipients: Recipients | None = None, *, author_id: str = AUTHOR, key: str | None = None
) -> NewAnnouncement:
    """A request to send an announcement to every active client, with a fresh key."""
    return NewAnnouncement(
        practice_id=PRACTICE,
        author_id=author_id,
        idempotency_key=key or new_id(),
        body="Closed on Friday.",
        subject="Office hours",
        recipients=recipients or Recipients(all_clients=True),
    )
