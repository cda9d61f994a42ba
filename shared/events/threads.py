"""Events the threads service publishes: settings, thread lifecycle, messages, chart."""

from datetime import datetime
from typing import ClassVar, Literal

from shared import topics
from shared.events.base import Event

Role = Literal["provider", "client"]


class PracticeMessagingToggled(Event):
    """A practice admin turned secure messaging on or off."""

    TOPIC: ClassVar[str] = topics.MESSAGING_SETTINGS
    TYPE: ClassVar[str] = "messaging.practice.toggled"
    KEY_FIELD: ClassVar[str] = "practice_id"

    event_type: Literal["practice_messaging_toggled"] = "practice_messaging_toggled"
    practice_id: str
    enabled: bool
    changed_by: str


class DisplayNameChanged(Event):
    """A provider chose the name clients see on messages sent from now on."""

    TOPIC: ClassVar[str] = topics.MESSAGING_SETTINGS
    TYPE: ClassVar[str] = "messaging.provider.display_name_changed"
    KEY_FIELD: ClassVar[str] = "provider_id"

    event_type: Literal["display_name_changed"] = "display_name_changed"
    practice_id: str
    provider_id: str
    display_name: str


class ThreadCreated(Event):
    """The one thread of a provider-client pair came into being."""

    TOPIC: ClassVar[str] = topics.MESSAGING_THREADS
    TYPE: ClassVar[str] = "messaging.thread.created"
    KEY_FIELD: ClassVar[str] = "thread_id"

    event_type: Literal["thread_created"] = "thread_created"
    thread_id: str
    practice_id: str
    provider_id: str
    client_id: str
    created_by: str


class ThreadStateChanged(Event):
    """One participant's view of a thread changed (read, unread, archive, new message).

    `unread_threads` is that participant's red-dot count after the change, so consumers
    such as notify never call back into the threads service.
    """

    TOPIC: ClassVar[str] = topics.MESSAGING_THREADS
    TYPE: ClassVar[str] = "messaging.thread.state_changed"
    KEY_FIELD: ClassVar[str] = "thread_id"

    event_type: Literal["thread_state_changed"] = "thread_state_changed"
    thread_id: str
    practice_id: str
    participant_id: str
    participant_role: Role
    unread: bool
    unread_count: int
    archived: bool
    read_seq: int
    unread_threads: int


class MessageSent(Event):
    """A message was stored in a thread. Carries no body: only the chart topic does."""

    TOPIC: ClassVar[str] = topics.MESSAGING_MESSAGES
    TYPE: ClassVar[str] = "messaging.message.sent"
    KEY_FIELD: ClassVar[str] = "thread_id"

    thread_id: str
    practice_id: str
    provider_id: str
    client_id: str
    message_id: str
    seq: int
    sender_role: Role
    sender_id: str
    recipient_role: Role
    recipient_id: str
    sent_at: datetime


class ChartEntry(Event):
    """A message as the client's chart records it (includes the body: PHI)."""

    TOPIC: ClassVar[str] = topics.MESSAGING_CHART
    TYPE: ClassVar[str] = "messaging.chart.entry"
    KEY_FIELD: ClassVar[str] = "client_id"

    practice_id: str
    client_id: str
    provider_id: str
    thread_id: str
    message_id: str
    seq: int
    sender_role: Role
    sender_id: str
    sender_display_name: str
    body: str
    sent_at: datetime


class InboxEntryChanged(Event):
    """One participant's view of one thread, as it now stands.

    Internal to the threads service: keyed by participant, so that the single consumer
    owning a participant's partition writes that participant's inbox (the list of their
    threads and the red dot) without atomic updates.
    """

    TOPIC: ClassVar[str] = topics.MESSAGING_INBOX
    TYPE: ClassVar[str] = "messaging.inbox.entry_changed"
    KEY_FIELD: ClassVar[str] = "participant_id"

    event_type: Literal["inbox_entry_changed"] = "inbox_entry_changed"
    participant_id: str
    participant_role: Role
    practice_id: str
    thread_id: str
    other_id: str
    other_first_name: str = ""
    other_last_name: str = ""
    other_display_name: str = ""
    created_at: datetime
    last_message_at: datetime | None = None
    activity_at: datetime
    last_seq: int = 0
    read_seq: int = 0
    last_incoming_seq: int = 0
    own_after_read: int = 0
    unread: bool = False
    archived: bool = False
    revision: str
