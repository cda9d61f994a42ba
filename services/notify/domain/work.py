"""Open work: announcement parts, queue entries with their owner and lease, and attempts."""

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from services.notify.domain.deliveries import Delivery, Job

Kind = Literal["delivery", "part"]

# A queue entry whose record has not appeared after this long was left by a failed write.
ORPHAN_GRACE = timedelta(minutes=5)


@dataclass(frozen=True)
class Part:
    """One part of an announcement: up to 1,000 clients, fanned out together."""

    announcement_id: str
    practice_id: str
    part: int
    recipients: tuple[str, ...]

    @property
    def key(self) -> str:
        """The part's natural key."""
        return f"{self.announcement_id}#{self.part}"

    def jobs(self) -> list[Job]:
        """One job per distinct recipient (recipients are clients)."""
        return [
            Job(
                source="announcement",
                source_id=self.announcement_id,
                practice_id=self.practice_id,
                recipient_id=recipient_id,
                recipient_role="client",
            )
            for recipient_id in dict.fromkeys(self.recipients)
        ]


def part_entry_id(part: Part) -> str:
    """The queue entry of an announcement part."""
    return f"part:{part.key}"


@dataclass(frozen=True)
class QueueEntry:
    """Open work: what it is, who runs it, when it is due and until when its owner holds it."""

    id: str
    kind: Kind
    owner: str | None
    due_at: datetime
    lease_until: datetime
    gen: int = 0
    created_at: datetime | None = None
    part: Part | None = None

    @classmethod
    def for_delivery(
        cls, delivery: Delivery, owner: str, lease: timedelta, now: datetime
    ) -> "QueueEntry":
        """The entry of one delivery, held by `owner` until a lease past its due time."""
        return cls(
            id=delivery.id,
            kind="delivery",
            owner=owner,
            due_at=delivery.due_at,
            lease_until=delivery.due_at + lease,
            created_at=now,
        )

    @classmethod
    def for_part(cls, part: Part, owner: str, lease: timedelta, now: datetime) -> "QueueEntry":
        """The entry of an announcement part, due now (its recipients inside)."""
        return cls(
            id=part_entry_id(part),
            kind="part",
            owner=owner,
            due_at=now,
            lease_until=now + lease,
            created_at=now,
            part=part,
        )

    def takeover_lease(self, now: datetime, lease: timedelta) -> datetime:
        """Until when a new owner holds the entry: a lease past its due time (or now)."""
        return max(self.due_at, now) + lease

    def orphaned(self, now: datetime) -> bool:
        """An entry without a record this long after it was written: its record never came."""
        return self.created_at is not None and self.created_at < now - ORPHAN_GRACE


@dataclass(frozen=True)
class Attempt:
    """One try of a delivery, and what exists of it in the database."""

    delivery: Delivery
    lease_until: datetime
    # The record exists (a direct message's); else the outcome creates it (a part's send).
    stored: bool = True
    # A queue entry named after the delivery exists; else a part's entry covers it.
    queued: bool = True

    def may_start(self, now: datetime, margin: timedelta) -> bool:
        """An attempt starts only if it can finish well within its lease (else it is left
        to whoever takes the entry over)."""
        return now <= self.lease_until - margin
