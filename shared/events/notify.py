"""Events the notify service publishes: per-recipient jobs and delivery outcomes."""

from typing import ClassVar, Literal

from shared import topics
from shared.events.base import Event

Source = Literal["direct_message", "announcement"]
Channel = Literal["inbox", "push", "email", "live"]
DeliveryStatus = Literal["delivered", "sent", "failed", "skipped"]


class NotificationRequested(Event):
    """A job: tell one recipient about one source event (keyed by recipient)."""

    TOPIC: ClassVar[str] = topics.MESSAGING_NOTIFICATIONS
    TYPE: ClassVar[str] = "messaging.notification.requested"
    KEY_FIELD: ClassVar[str] = "recipient_id"

    source: Source
    source_id: str  # message_id or announcement_id
    practice_id: str
    recipient_id: str
    recipient_role: Literal["provider", "client"]
    thread_id: str | None = None
    seq: int | None = None


class DeliveryRecorded(Event):
    """The outcome of one channel's delivery to one recipient."""

    TOPIC: ClassVar[str] = topics.MESSAGING_DELIVERIES
    TYPE: ClassVar[str] = "messaging.delivery.recorded"
    KEY_FIELD: ClassVar[str] = "source_id"

    source: Source
    source_id: str
    practice_id: str
    recipient_id: str
    channel: Channel
    status: DeliveryStatus
    reason: str | None = None
