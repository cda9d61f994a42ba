"""The stores and channels the use cases need, as ports: the composition root plugs in the
MongoDB stores and the real gateways, unit tests plug in small in-memory ones
(tests/unit/notify/fakes.py)."""

from collections.abc import Sequence
from contextlib import AbstractContextManager
from datetime import datetime
from typing import Protocol

from services.notify.domain.deliveries import Delivery
from services.notify.domain.facts import ClientContact, ReadPosition, ReadState
from services.notify.domain.live import LiveEvent
from services.notify.domain.outcomes import Outcome, PushResult
from services.notify.domain.users import Device, Platform, Preferences, Profile
from services.notify.domain.work import QueueEntry
from shared.events.base import Event


class DeliveriesPort(Protocol):
    """Delivery records, one per (source, recipient, channel), by id."""

    async def add(self, deliveries: list[Delivery]) -> set[str]:
        """Insert records; returns the ids that existed already (those are left as they were)."""

    async def add_one(self, delivery: Delivery) -> bool:
        """Insert one record; False if it existed already."""

    async def get(self, record_id: str) -> Delivery | None:
        """A record by id."""

    async def get_many(self, record_ids: list[str]) -> dict[str, Delivery]:
        """Records by id; missing ones are left out."""

    async def settle(self, delivery: Delivery) -> None:
        """Store a record's final outcome."""

    async def reschedule(self, delivery: Delivery, *, error: str) -> None:
        """Store a failed attempt and when to try again."""


class QueuePort(Protocol):
    """Open work, each entry with its owner and lease."""

    async def add(self, entries: list[QueueEntry]) -> set[str]:
        """Insert entries; returns the ids that existed already."""

    async def get(self, entry_id: str) -> QueueEntry | None:
        """An entry by id."""

    async def remove(self, entry_id: str) -> None:
        """The work is settled."""

    async def renew(self, entry_id: str, lease_until: datetime) -> None:
        """Extend the owner's lease."""

    async def reschedule(self, entry_id: str, due_at: datetime, lease_until: datetime) -> None:
        """The owner will try again at `due_at`."""

    async def release(self, entry_ids: list[str]) -> None:
        """The owner stops: the entries are free to take at once."""

    async def claimable(
        self,
        now: datetime,
        *,
        owned_by: str | None = None,
        dead: Sequence[str] = (),
        after: str | None = None,
    ) -> list[QueueEntry]:
        """Entries whose lease ran out, those `owned_by` owned and every entry of the `dead`
        instances, in `_id` order past `after`, a batch at a time."""

    async def beat(self, owner: str, alive_until: datetime) -> None:
        """`owner` runs its work at least until then."""

    async def gone(self, now: datetime) -> list[str]:
        """Instances whose heartbeat has run out."""

    async def forget(self, owner: str) -> None:
        """A gone instance's work is all taken over."""

    async def claim(
        self, entry: QueueEntry, owner: str, lease_until: datetime
    ) -> QueueEntry | None:
        """Take an entry over for `owner`, unless another instance got there first."""


class UsersPort(Protocol):
    """Users' preferences and push devices."""

    async def profile(self, user_id: str) -> Profile:
        """A user's preferences (defaults if unknown) and devices."""

    async def profiles(self, user_ids: list[str]) -> dict[str, Profile]:
        """Many users' profiles, read together (a fan-out's part)."""

    async def register_device(self, user_id: str, platform: Platform, token: str) -> Device:
        """The user's device for this token, created if new (idempotent)."""

    async def remove_device(self, user_id: str, device_id: str) -> bool:
        """Forget one of the user's devices; False if the user has no such device."""

    async def remove_tokens(self, user_id: str, tokens: list[str]) -> int:
        """Forget tokens the push gateway rejected; returns how many devices went."""

    async def set_preferences(self, user_id: str, prefs: Preferences) -> Preferences:
        """Replace a user's preferences."""


class ClientEmailsPort(Protocol):
    """The client directory's addresses (a projection of practice.clients.v1)."""

    async def upsert(self, contact: ClientContact) -> None:
        """Keep the latest record of a client."""

    async def email_of(self, practice_id: str, client_id: str) -> str | None:
        """An active client's email address, if the practice has one."""

    async def emails_of(self, practice_id: str, client_ids: list[str]) -> dict[str, str]:
        """The addresses of those of the clients that are active and have one."""


class ReadStatePort(Protocol):
    """Participants' read positions and red dots (a projection of messaging.threads.v1)."""

    async def apply(self, state: ReadState) -> None:
        """Record a participant's state of a thread (the read position only moves forward)."""

    async def position(self, thread_id: str, participant_id: str) -> ReadPosition:
        """How far the participant has read in a thread, and their red dot (if known)."""


class PushPort(Protocol):
    """The push gateway."""

    async def send(self, notification_id: str, unread: int, devices: list[Device]) -> PushResult:
        """Push an opaque id and a badge count to devices."""


class MailerPort(Protocol):
    """The mail server."""

    async def send(self, to: str, link: str) -> Outcome:
        """Send the one generic notification email."""


class PublisherPort(Protocol):
    """Where events go (the topic each event names)."""

    async def publish(self, event: Event) -> None:
        """Publish one event and wait for the broker."""

    async def publish_all(self, events: Sequence[Event]) -> None:
        """Publish events together and wait for the broker."""


class DeadLettersPort(Protocol):
    """Where jobs that could not be delivered are parked."""

    async def park(self, delivery: Delivery, error: str) -> None:
        """Park a failed delivery's job with its error."""


class LiveEventsPort(Protocol):
    """Recent live events per user, kept for replay."""

    async def add(self, event: LiveEvent) -> None:
        """Store an event in its user's log."""

    async def after(self, user_id: str, last_event_id: str) -> list[LiveEvent]:
        """The user's events after the given one; all kept ones if it is unknown."""


class LiveHubPort(Protocol):
    """This process's open streams."""

    def subscribe(self, user_id: str) -> "AbstractContextManager[LiveQueue]":
        """A queue receiving the user's events while the context is open."""

    def publish(self, event: LiveEvent) -> int:
        """Hand an event to the user's open streams; returns how many took it."""

    def connected(self, user_id: str) -> int:
        """How many streams the user has open here."""


class LiveQueue(Protocol):
    """One open stream's queue of events."""

    async def get(self) -> LiveEvent:
        """The next event (waits for one)."""
