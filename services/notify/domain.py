"""Notify domain: deliveries, their outcomes, retry timing and generic notification text."""

import random
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any, Literal

Source = Literal["direct_message", "announcement"]
Channel = Literal["inbox", "push", "email", "live"]
FinalStatus = Literal["delivered", "sent", "failed", "skipped"]

EMAIL_SUBJECT = "You have a new secure message"
# Push devices one user may register (phones, tablets, browsers); bounds each fan-out.
MAX_DEVICES_PER_USER = 20


@dataclass(frozen=True)
class Job:
    """One recipient to tell about one source event (a message or an announcement)."""

    source: Source
    source_id: str
    practice_id: str
    recipient_id: str
    recipient_role: Literal["provider", "client"]
    thread_id: str | None = None
    seq: int | None = None
    job_event_id: str = ""

    def channels(self) -> list[Channel]:
        """Channels a job is delivered on; an announcement also lands in the client's inbox."""
        if self.source == "announcement":
            return ["inbox", "push", "email"]
        return ["push", "email"]


@dataclass(frozen=True)
class Delivery:
    """One channel's delivery of one job: the record is unique per (source, recipient, channel)."""

    id: str
    job: Job
    channel: Channel
    status: str
    attempts: int
    due_at: datetime
    first_attempt_at: datetime | None = None
    reason: str | None = None


def delivery_id(source_id: str, recipient_id: str, channel: Channel) -> str:
    """The natural key of a delivery record."""
    return f"{source_id}:{recipient_id}:{channel}"


def new_delivery(job: Job, channel: Channel, due_at: datetime) -> Delivery:
    """A delivery not attempted yet."""
    return Delivery(
        id=delivery_id(job.source_id, job.recipient_id, channel),
        job=job,
        channel=channel,
        status="pending",
        attempts=0,
        due_at=due_at,
    )


def closed(delivery: Delivery, status: str, reason: str | None, at: datetime) -> Delivery:
    """The delivery with its final outcome."""
    return replace(
        delivery, status=status, reason=reason, first_attempt_at=delivery.first_attempt_at or at
    )


FINAL_STATUSES = ("delivered", "sent", "failed", "skipped")


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


@dataclass(frozen=True)
class Sent:
    """The provider accepted the notification."""


@dataclass(frozen=True)
class Skipped:
    """Nothing to send: no device, no address, opted out, or already read."""

    reason: str


@dataclass(frozen=True)
class Transient:
    """The provider is unreachable or overloaded: try again later."""

    error: str


@dataclass(frozen=True)
class Permanent:
    """The provider refused for good: retrying cannot help."""

    error: str


Outcome = Sent | Skipped | Transient | Permanent


@dataclass(frozen=True)
class RetryPolicy:
    """Exponential backoff with full jitter, bounded by a window since the first attempt."""

    base_seconds: float
    window_seconds: float
    rng: random.Random = field(default_factory=random.Random)

    def next_attempt(self, attempts: int, first_at: datetime, now: datetime) -> datetime | None:
        """When to try again after `attempts` failures, or None once the window is spent."""
        deadline = first_at + timedelta(seconds=self.window_seconds)
        if now >= deadline:
            return None
        ceiling = self.base_seconds * 2 ** min(attempts, 30)
        delay = timedelta(seconds=self.rng.uniform(0, ceiling))
        return min(now + delay, deadline)


@dataclass(frozen=True)
class Preferences:
    """How a user wants to be notified; providers may give an address (they have no directory)."""

    push: bool = True
    email: bool = True
    email_address: str | None = None


@dataclass(frozen=True)
class Device:
    """A phone or browser registered for push."""

    device_id: str
    user_id: str
    platform: Literal["ios", "android", "web"]
    token: str
    registered_at: datetime


@dataclass(frozen=True)
class Profile:
    """What notify knows of a user: preferences and push devices (one document per user)."""

    prefs: Preferences
    devices: list[Device]


def push_skip(profile: Profile) -> Skipped | None:
    """Why a push has nothing to send, if it has not."""
    if not profile.prefs.push:
        return Skipped("opted_out")
    if not profile.devices:
        return Skipped("no_device")
    return None


@dataclass(frozen=True)
class ReadPosition:
    """What notify knows of one participant in one thread (from the threads service)."""

    read_seq: int = 0
    # The participant's red dot as of the thread's latest state change, if any is known.
    unread_threads: int | None = None


def email_address_for(job: Job, prefs: Preferences, directory_email: str | None) -> str | None:
    """Where an email goes: the user's own address wins, clients fall back to the directory."""
    if not prefs.email:
        return None
    if prefs.email_address:
        return prefs.email_address
    return directory_email if job.recipient_role == "client" else None


def still_unread(read_seq: int, seq: int | None) -> bool:
    """A message is unread while the recipient's read position is before it."""
    return seq is None or read_seq < seq


def link_for(job: Job, base_url: str) -> str:
    """Where the recipient signs in to read; opaque ids only, never content."""
    base = base_url.rstrip("/")
    if job.source == "announcement":
        return f"{base}/announcements/{job.source_id}"
    return f"{base}/threads/{job.thread_id}"


def email_body(link: str) -> str:
    """The whole email text: generic by design, no names, no subject, no message text."""
    return f"You have a new secure message. Sign in to read it: {link}\n"


@dataclass(frozen=True)
class LiveEvent:
    """A Server-Sent Event for one user: `message` or `unread`, with ids and counts only."""

    id: str
    user_id: str
    kind: Literal["message", "unread"]
    data: dict[str, Any]
    occurred_at: datetime


class DeviceNotFound(Exception):
    """The caller has no device with that id."""


class TooManyDevices(Exception):
    """The user already has as many devices as allowed."""


def check_device_limit(devices: list[Device], token: str) -> None:
    """Refuse a new device past the per-user limit; registering a known token again is fine."""
    if len(devices) >= MAX_DEVICES_PER_USER and all(d.token != token for d in devices):
        raise TooManyDevices()
