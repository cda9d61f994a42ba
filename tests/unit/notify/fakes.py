"""In-memory stand-ins for the notify service's ports, for unit tests of its use cases.

They keep the stores' observable rules (one record per id, inserts report the ids that
existed, the read position only moves forward, one claim per entry generation) and the
channels' answers as scripted by a test; the real stores and gateways are proven on the
real servers by tests/notify.
"""

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime

from services.notify.domain import (
    ClientContact,
    Delivery,
    Device,
    LiveEvent,
    Outcome,
    Platform,
    Preferences,
    Profile,
    PushResult,
    QueueEntry,
    ReadPosition,
    ReadState,
    Sent,
)
from services.notify.store.users import device_id_for
from shared.clock import utcnow
from shared.events.base import Event


@dataclass
class FakeDeliveries:
    """Delivery records by id."""

    records: dict[str, Delivery] = field(default_factory=dict)

    async def add(self, deliveries: list[Delivery]) -> set[str]:
        existing = {d.id for d in deliveries if d.id in self.records}
        for d in deliveries:
            self.records.setdefault(d.id, d)
        return existing

    async def add_one(self, delivery: Delivery) -> bool:
        return not await self.add([delivery])

    async def get(self, record_id: str) -> Delivery | None:
        return self.records.get(record_id)

    async def get_many(self, record_ids: list[str]) -> dict[str, Delivery]:
        return {i: self.records[i] for i in record_ids if i in self.records}

    async def settle(self, delivery: Delivery) -> None:
        self.records[delivery.id] = delivery

    async def reschedule(self, delivery: Delivery, *, error: str) -> None:
        self.records[delivery.id] = delivery


@dataclass
class FakeQueue:
    """Queue entries by id, with takeover claims per generation."""

    entries: dict[str, QueueEntry] = field(default_factory=dict)
    claims: set[str] = field(default_factory=set)
    instances: dict[str, datetime] = field(default_factory=dict)
    beats: list[str] = field(default_factory=list)

    async def add(self, entries: list[QueueEntry]) -> set[str]:
        existing = {e.id for e in entries if e.id in self.entries}
        for e in entries:
            self.entries.setdefault(e.id, e)
        return existing

    async def get(self, entry_id: str) -> QueueEntry | None:
        return self.entries.get(entry_id)

    async def remove(self, entry_id: str) -> None:
        self.entries.pop(entry_id, None)

    async def renew(self, entry_id: str, lease_until: datetime) -> None:
        if (entry := self.entries.get(entry_id)) is not None:
            self.entries[entry_id] = replace(entry, lease_until=lease_until)

    async def reschedule(self, entry_id: str, due_at: datetime, lease_until: datetime) -> None:
        if (entry := self.entries.get(entry_id)) is not None:
            self.entries[entry_id] = replace(entry, due_at=due_at, lease_until=lease_until)

    async def release(self, entry_ids: list[str]) -> None:
        now = utcnow()
        for entry_id in entry_ids:
            if (entry := self.entries.get(entry_id)) is not None:
                self.entries[entry_id] = replace(entry, owner=None, lease_until=now)

    async def claimable(
        self,
        now: datetime,
        *,
        owned_by: str | None = None,
        dead: Sequence[str] = (),
        after: str | None = None,
    ) -> list[QueueEntry]:
        return sorted(
            (
                e
                for e in self.entries.values()
                if (after is None or e.id > after)
                and (e.lease_until <= now or e.owner in dead or (owned_by and e.owner == owned_by))
            ),
            key=lambda e: e.id,
        )

    async def beat(self, owner: str, alive_until: datetime) -> None:
        self.beats.append(owner)
        self.instances[owner] = alive_until

    async def gone(self, now: datetime) -> list[str]:
        return [i for i, until in self.instances.items() if until <= now]

    async def forget(self, owner: str) -> None:
        self.instances.pop(owner, None)

    async def claim(
        self, entry: QueueEntry, owner: str, lease_until: datetime
    ) -> QueueEntry | None:
        claim = f"{entry.id}#{entry.gen}"
        if claim in self.claims or entry.id not in self.entries:
            return None
        self.claims.add(claim)
        stored = self.entries[entry.id]
        claimed = replace(stored, owner=owner, lease_until=lease_until, gen=entry.gen + 1)
        self.entries[entry.id] = claimed
        return claimed


@dataclass
class FakeUsers:
    """Users' preferences and devices."""

    prefs: dict[str, Preferences] = field(default_factory=dict)
    devices: dict[str, dict[str, Device]] = field(default_factory=dict)

    def add_device(self, user_id: str, token: str, platform: Platform = "ios") -> Device:
        """A device registered straight in the store (test setup)."""
        device = Device(device_id_for(user_id, token), user_id, platform, token, utcnow())
        self.devices.setdefault(user_id, {})[device.device_id] = device
        return device

    async def profile(self, user_id: str) -> Profile:
        devices = sorted(self.devices.get(user_id, {}).values(), key=lambda d: d.registered_at)
        return Profile(self.prefs.get(user_id, Preferences()), devices)

    async def profiles(self, user_ids: list[str]) -> dict[str, Profile]:
        return {u: await self.profile(u) for u in user_ids}

    async def register_device(self, user_id: str, platform: Platform, token: str) -> Device:
        known = self.devices.get(user_id, {}).get(device_id_for(user_id, token))
        if known is not None and known.platform == platform:
            return known
        return self.add_device(user_id, token, platform)

    async def remove_device(self, user_id: str, device_id: str) -> bool:
        return self.devices.get(user_id, {}).pop(device_id, None) is not None

    async def remove_tokens(self, user_id: str, tokens: list[str]) -> int:
        removed = 0
        for token in tokens:
            removed += await self.remove_device(user_id, device_id_for(user_id, token))
        return removed

    async def set_preferences(self, user_id: str, prefs: Preferences) -> Preferences:
        self.prefs[user_id] = prefs
        return prefs


@dataclass
class FakeClientEmails:
    """The client directory's addresses."""

    contacts: dict[str, ClientContact] = field(default_factory=dict)
    lookups: int = 0

    async def upsert(self, contact: ClientContact) -> None:
        self.contacts[contact.client_id] = contact

    async def email_of(self, practice_id: str, client_id: str) -> str | None:
        self.lookups += 1
        contact = self.contacts.get(client_id)
        if contact is None or contact.practice_id != practice_id or not contact.active:
            return None
        return contact.email

    async def emails_of(self, practice_id: str, client_ids: list[str]) -> dict[str, str]:
        found = {c: await self.email_of(practice_id, c) for c in client_ids}
        return {c: email for c, email in found.items() if email}


@dataclass
class FakeReadStates:
    """Read positions and red dots per (thread, participant)."""

    states: dict[tuple[str, str], ReadPosition] = field(default_factory=dict)

    async def apply(self, state: ReadState) -> None:
        key = (state.thread_id, state.participant_id)
        before = self.states.get(key, ReadPosition())
        self.states[key] = ReadPosition(max(before.read_seq, state.read_seq), state.unread_threads)

    async def position(self, thread_id: str, participant_id: str) -> ReadPosition:
        return self.states.get((thread_id, participant_id), ReadPosition())


@dataclass(frozen=True)
class PushRequest:
    """One request to the push gateway."""

    notification_id: str
    unread: int
    tokens: list[str]


@dataclass
class FakePush:
    """A push gateway answering from a script (then Sent), recording each request."""

    script: list[PushResult] = field(default_factory=list)
    requests: list[PushRequest] = field(default_factory=list)

    async def send(self, notification_id: str, unread: int, devices: list[Device]) -> PushResult:
        self.requests.append(PushRequest(notification_id, unread, [d.token for d in devices]))
        return self.script.pop(0) if self.script else PushResult(Sent(), [])

    def pushes_to(self, token: str) -> list[PushRequest]:
        """The requests that reached a token."""
        return [r for r in self.requests if token in r.tokens]


@dataclass
class FakeMailer:
    """A mail server answering from a script (then Sent), recording each email."""

    script: list[Outcome] = field(default_factory=list)
    sent: list[tuple[str, str]] = field(default_factory=list)

    async def send(self, to: str, link: str) -> Outcome:
        self.sent.append((to, link))
        return self.script.pop(0) if self.script else Sent()


@dataclass
class FakePublisher:
    """The events published, in order."""

    events: list[Event] = field(default_factory=list)

    async def publish(self, event: Event) -> None:
        self.events.append(event)

    async def publish_all(self, events: Sequence[Event]) -> None:
        self.events.extend(events)


@dataclass
class FakeDeadLetters:
    """Parked deliveries with their errors."""

    parked: list[tuple[Delivery, str]] = field(default_factory=list)

    async def park(self, delivery: Delivery, error: str) -> None:
        self.parked.append((delivery, error))


@dataclass
class FakeLiveEvents:
    """Live events in arrival order; a replay shows each event once."""

    stored: list[LiveEvent] = field(default_factory=list)

    async def add(self, event: LiveEvent) -> None:
        self.stored.append(event)

    async def after(self, user_id: str, last_event_id: str) -> list[LiveEvent]:
        mine = [e for e in self.stored if e.user_id == user_id]
        ids = [e.id for e in mine]
        if last_event_id in ids:
            mine = mine[len(ids) - ids[::-1].index(last_event_id) :]
        return list({e.id: e for e in mine}.values())
