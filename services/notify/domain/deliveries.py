"""Jobs and their deliveries: one record per channel, and what an outcome makes of each."""

from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Literal

from services.notify.domain.facts import ReadPosition
from services.notify.domain.outcomes import Outcome, Permanent, RetryPolicy, Sent, Skipped
from services.notify.domain.users import Preferences, Profile
from shared.ids import stable_uuid

Source = Literal["direct_message", "announcement"]
Channel = Literal["inbox", "push", "email", "live"]
FinalStatus = Literal["delivered", "sent", "failed", "skipped"]
Role = Literal["provider", "client"]

FINAL_STATUSES = ("delivered", "sent", "failed", "skipped")
EMAIL_SUBJECT = "You have a new secure message"


@dataclass(frozen=True)
class Job:
    """One recipient to tell about one source event (a message or an announcement)."""

    source: Source
    source_id: str
    practice_id: str
    recipient_id: str
    recipient_role: Role
    thread_id: str | None = None
    seq: int | None = None
    job_event_id: str = ""

    @property
    def message_thread(self) -> str | None:
        """A direct message's thread, whose read position matters (badge, email if unread)."""
        return self.thread_id if self.source == "direct_message" else None

    @property
    def email_waits(self) -> bool:
        """A direct message's email waits for its delay, then goes only if still unread."""
        return self.source == "direct_message"

    def needs_directory(self, prefs: Preferences) -> bool:
        """Whether the email address can only come from the client directory."""
        return self.recipient_role == "client" and prefs.email and not prefs.email_address

    def email_address(self, prefs: Preferences, directory_email: str | None) -> str | None:
        """Where an email goes: the user's own address wins, clients fall back to the directory."""
        if not prefs.email:
            return None
        if prefs.email_address:
            return prefs.email_address
        return directory_email if self.recipient_role == "client" else None

    def email_skip(self, prefs: Preferences, position: ReadPosition | None) -> Skipped | None:
        """Why an email is not sent, before its address is known: read already, or opted out."""
        if position is not None and not position.still_unread(self.seq):
            return Skipped("read")
        if not prefs.email:
            return Skipped("opted_out")
        return None

    def link(self, base_url: str) -> str:
        """Where the recipient signs in to read; opaque ids only, never content."""
        base = base_url.rstrip("/")
        if self.source == "announcement":
            return f"{base}/announcements/{self.source_id}"
        return f"{base}/threads/{self.thread_id}"


@dataclass(frozen=True)
class Close:
    """The delivery ends with this status (sent or skipped)."""

    status: str
    reason: str | None


@dataclass(frozen=True)
class Retry:
    """The delivery, its failed attempt counted, is tried again at its new due time."""

    delivery: "Delivery"
    error: str


@dataclass(frozen=True)
class GiveUp:
    """The delivery failed for good: its job is parked, then the record closed as failed."""

    error: str


Step = Close | Retry | GiveUp


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

    @property
    def is_final(self) -> bool:
        """Whether the delivery has its final outcome."""
        return self.status in FINAL_STATUSES

    @property
    def push_notification_id(self) -> str:
        """The push's opaque id: the same for every push of one announcement, and per message.

        A repeated push carries the same id, so the app shows it once; the id is a hash,
        because a delivery id would name the recipient.
        """
        if self.job.source == "announcement":
            return str(stable_uuid(self.job.source_id, "push"))
        return str(stable_uuid(self.id, "push"))

    def closed(self, status: str, reason: str | None, at: datetime) -> "Delivery":
        """The delivery with its final outcome."""
        first = self.first_attempt_at or at
        return replace(self, status=status, reason=reason, first_attempt_at=first)

    def closed_by(self, outcome: Outcome, at: datetime) -> "Delivery | None":
        """The delivery closed by a final outcome (sent or skipped); None for a failure."""
        if isinstance(outcome, Sent):
            return self.closed("sent", None, at)
        if isinstance(outcome, Skipped):
            return self.closed("skipped", outcome.reason, at)
        return None

    def next_step(
        self, outcome: Outcome, *, started: datetime, now: datetime, policy: RetryPolicy
    ) -> Step:
        """What an attempt's outcome makes of the delivery: closed, retried, or given up.

        A transient failure is retried with backoff until the policy's window since the
        first attempt is spent; a permanent one is given up at once.
        """
        if isinstance(outcome, Sent):
            return Close("sent", None)
        if isinstance(outcome, Skipped):
            return Close("skipped", outcome.reason)
        if isinstance(outcome, Permanent):
            return GiveUp(outcome.error)
        first = self.first_attempt_at or started
        next_at = policy.next_attempt(self.attempts, first, now)
        if next_at is None:
            return GiveUp(outcome.error)
        retried = replace(
            self,
            status="retrying",
            attempts=self.attempts + 1,
            due_at=next_at,
            first_attempt_at=first,
        )
        return Retry(retried, outcome.error)


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


def inbox_record(job: Job, now: datetime) -> Delivery:
    """An announcement's inbox delivery: delivered as soon as it is recorded."""
    return new_delivery(job, "inbox", now).closed("delivered", None, now)


def push_record(job: Job, profile: Profile, now: datetime) -> Delivery:
    """A push to attempt now, or closed as skipped if there is nothing to send."""
    push = new_delivery(job, "push", now)
    skip = profile.push_skip()
    return push.closed("skipped", skip.reason, now) if skip else push


def email_record(
    job: Job,
    prefs: Preferences,
    address: str | None,
    now: datetime,
    delay: timedelta = timedelta(),
) -> Delivery:
    """An email to attempt, or closed as skipped; a direct message's waits for its delay.

    Whether a direct message's email goes, and where, is decided when the delay is over
    (the message may be read meanwhile), so `address` does not matter for one.
    """
    if job.email_waits:
        return new_delivery(job, "email", now + delay)
    email = new_delivery(job, "email", now)
    if not prefs.email:
        return email.closed("skipped", "opted_out", now)
    if address is None:
        return email.closed("skipped", "no_address", now)
    return email


def email_body(link: str) -> str:
    """The whole email text: generic by design, no names, no subject, no message text."""
    return f"You have a new secure message. Sign in to read it: {link}\n"
