"""Threads domain: entities, rules and domain errors, free of I/O."""

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

Role = Literal["provider", "client"]

DEFAULT_DISPLAY_NAME = "Your provider"
MAX_BODY_CHARS = 10_000
MAX_DISPLAY_NAME_CHARS = 100


class DomainError(Exception):
    """A rule of the domain refused the request."""


class ThreadNotFound(DomainError):
    """The thread does not exist or the caller may not see it."""


class ClientNotFound(DomainError):
    """No such client in the caller's practice."""


class ProviderNotFound(DomainError):
    """No active provider of the caller's practice has this id."""


class ClientInactive(DomainError):
    """The client is inactive: no new thread may be started with them."""


class MessagingDisabled(DomainError):
    """The practice has not turned secure messaging on."""


class SenderBlocked(DomainError):
    """The provider blocked this client from direct messages."""


class NotPracticeAdmin(DomainError):
    """Only a provider who is a practice admin may change practice settings."""


class InvalidMessageBody(DomainError):
    """A message body is empty, blank or longer than the limit."""


class SequenceContention(DomainError):
    """A message could not get a sequence number after many attempts."""


@dataclass(frozen=True)
class Participant:
    """Someone taking part in a thread: a provider or a client of one practice."""

    id: str
    role: Role
    practice_id: str


@dataclass(frozen=True)
class Client:
    """A client of a practice, as the practice's systems describe them."""

    client_id: str
    practice_id: str
    first_name: str
    last_name: str
    active: bool

    @property
    def sort_key(self) -> str:
        """Position in name order: last name, first name, then id for ties."""
        return f"{self.last_name.lower()}\x00{self.first_name.lower()}\x00{self.client_id}"

    @property
    def full_name(self) -> str:
        """First and last name, as searched."""
        return f"{self.first_name} {self.last_name}"


@dataclass(frozen=True)
class Thread:
    """The one conversation between a provider and a client."""

    thread_id: str
    practice_id: str
    provider_id: str
    client_id: str
    created_by: str
    created_at: datetime

    def visible_to(self, who: Participant) -> bool:
        """Only the thread's own provider and client, within its practice, see it."""
        if who.practice_id != self.practice_id:
            return False
        own = self.provider_id if who.role == "provider" else self.client_id
        return own == who.id

    def other_party(self, who: Participant) -> tuple[str, Role]:
        """The id and role of the participant opposite `who`."""
        if who.role == "provider":
            return self.client_id, "client"
        return self.provider_id, "provider"


@dataclass(frozen=True)
class Message:
    """One message of a thread, with its body decrypted."""

    message_id: str
    thread_id: str
    seq: int
    client_message_id: str
    sender_role: Role
    sender_id: str
    sender_display_name: str
    body: str
    created_at: datetime


@dataclass(frozen=True)
class ViewChange:
    """What a message does to a view: fields raised to at least a value, and fields set."""

    raised: dict[str, Any]
    set: dict[str, Any]


@dataclass(frozen=True)
class View:
    """One participant's state of a thread: read position, unread flag, archive."""

    thread_id: str
    participant_id: str
    role: Role
    other_id: str
    other_first_name: str
    other_last_name: str
    other_display_name: str
    created_at: datetime
    last_message_at: datetime | None
    activity_at: datetime
    last_seq: int
    read_seq: int
    unread: bool
    archived: bool
    last_incoming_seq: int = 0
    own_after_read: int = 0

    @property
    def unread_count(self) -> int:
        """Messages from the other party after the read position, derived from seqs.

        Every message after `read_seq` is the other party's except the participant's own
        `own_after_read` ones: sending reads the thread, so own messages can only follow
        the read position after a "mark unread".
        """
        if not self.unread:
            return 0
        return max(self.last_seq - self.read_seq - self.own_after_read, 1)

    @staticmethod
    def on_incoming(seq: int, at: datetime) -> ViewChange:
        """A message from the other party: unread, and back in the inbox if archived."""
        raised = {
            "last_seq": seq,
            "last_incoming_seq": seq,
            "last_message_at": at,
            "activity_at": at,
        }
        return ViewChange(raised=raised, set={"unread": True, "archived": False})

    @staticmethod
    def on_own(seq: int, at: datetime) -> ViewChange:
        """The participant's own message: sending reads everything before it."""
        raised = {"last_seq": seq, "read_seq": seq, "last_message_at": at, "activity_at": at}
        return ViewChange(raised=raised, set={"unread": False, "own_after_read": 0})

    @staticmethod
    def read_past(read_seq: int, seq: int) -> bool:
        """Whether the reader read past an incoming message before it was applied (then it
        changes neither their unread flag nor their archive)."""
        return read_seq >= seq

    def marked_unread(self, last_seq: int) -> dict[str, int | bool]:
        """The fields that make the latest message from the other party unread again."""
        incoming = min(self.last_incoming_seq, last_seq)
        return {
            "unread": True,
            "read_seq": max(incoming - 1, 0),
            "own_after_read": last_seq - incoming if incoming else 0,
        }


def check_body(body: str) -> str:
    """The body, verbatim, if it may be sent; otherwise InvalidMessageBody."""
    if not body or not body.strip():
        raise InvalidMessageBody("A message needs some text.")
    if len(body) > MAX_BODY_CHARS:
        raise InvalidMessageBody(f"A message holds at most {MAX_BODY_CHARS} characters.")
    return body


def may_change_practice_settings(role: str, practice_admin: bool) -> bool:
    """Practice settings change only by a provider marked practice admin (never a client)."""
    return role == "provider" and practice_admin


def display_name_or_default(name: str | None) -> str:
    """What clients see for a provider who never chose a display name."""
    return name if name else DEFAULT_DISPLAY_NAME
