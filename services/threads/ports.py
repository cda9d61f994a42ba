"""The stores and outbox the use cases need, as ports: the composition root plugs in the
MongoDB stores, unit tests plug in small in-memory ones (tests/unit/threads/fakes.py)."""

from datetime import datetime
from typing import Any, Protocol
from uuid import UUID

from services.threads.domain import Client, Message, Participant, Thread, View
from shared.events.audit import AccessRecorded, Outcome
from shared.events.base import Event
from shared.events.blocks import BlockChanged
from shared.events.clients import ClientRecordChanged
from shared.events.providers import ProviderRecordChanged
from shared.outbox import Document


class SeqHintsPort(Protocol):
    """The highest seq a process knows per thread."""

    def get(self, thread_id: str) -> int | None: ...

    def advance(self, thread_id: str, seq: int) -> None: ...


class ThreadsPort(Protocol):
    """Threads by id."""

    async def get(self, thread_id: str) -> Thread | None: ...


class MessagesPort(Protocol):
    """A thread's messages, by seq."""

    @property
    def hints(self) -> SeqHintsPort: ...

    async def at(self, thread_id: str, seq: int) -> dict[str, Any] | None: ...

    async def last_seq(self, thread_id: str, known: int = 0) -> int: ...

    async def append(
        self,
        thread: Thread,
        sender: Participant,
        sender_display_name: str,
        body: str,
        client_message_id: str,
        *,
        known_seq: int,
    ) -> tuple[Message, dict[str, Any] | None]: ...

    async def page(self, thread_id: str, *, top: int, limit: int) -> list[Message]: ...


class ViewsPort(Protocol):
    """Each participant's view of each thread."""

    async def get(self, thread_id: str, participant_id: str) -> View | None: ...

    async def by_id(self, _id: str) -> dict[str, Any] | None: ...

    async def on_sent(
        self, thread_id: str, sender_id: str, seq: int, at: datetime
    ) -> dict[str, Any] | None: ...

    async def on_received(
        self, thread_id: str, recipient_id: str, seq: int, at: datetime
    ) -> tuple[dict[str, Any] | None, dict[str, Any] | None]: ...

    async def set_state(
        self, thread_id: str, participant_id: str, fields: dict[str, Any]
    ) -> dict[str, Any] | None: ...

    async def rename_other(
        self, view_ids: list[str], names: dict[str, str]
    ) -> list[dict[str, Any]]: ...


class PracticesPort(Protocol):
    """Whether each practice has messaging on."""

    async def is_enabled(self, practice_id: str) -> bool: ...

    async def set_enabled(self, practice_id: str, enabled: bool, by: str) -> dict[str, Any]: ...


class BlocksPort(Protocol):
    """Which provider blocks which client."""

    async def is_blocked(self, provider_id: str, client_id: str) -> bool: ...

    async def apply(self, change: BlockChanged) -> bool: ...


class ProfilesPort(Protocol):
    """Providers' display names."""

    async def display_name(self, provider_id: str) -> str | None: ...

    async def set_display_name(
        self, practice_id: str, provider_id: str, name: str
    ) -> dict[str, Any]: ...


class ClientsPort(Protocol):
    """The practice's client directory."""

    async def get(self, practice_id: str, client_id: str) -> Client | None: ...

    async def apply(self, records: list[tuple[ClientRecordChanged, int]]) -> list[str]: ...

    async def search(
        self, practice_id: str, query: str | None, *, after: str | None, limit: int
    ) -> list[Client]: ...


class ProvidersPort(Protocol):
    """The practice's provider directory."""

    async def upsert(self, record: ProviderRecordChanged) -> None: ...


class AuditChainPort(Protocol):
    """Each practice's hash-chained audit records, by position."""

    async def head(self, practice_id: str) -> tuple[int, str]: ...

    async def append(self, practice_id: str, events: list[AccessRecorded]) -> int: ...

    async def at(self, practice_id: str, position: int) -> dict[str, Any] | None: ...

    async def first_at_or_after(self, practice_id: str, since: datetime, last: int) -> int: ...

    def forget_written(self) -> None: ...


class EventsPort(Protocol):
    """Events published straight to the broker (projections, not intents)."""

    async def publish_all(self, events: list[Event]) -> None: ...


class InboxesPort(Protocol):
    """Each participant's inbox projection."""

    async def unread_threads(self, participant_id: str, practice_id: str) -> int: ...

    async def counterpart_views(self, participant_id: str) -> list[str]: ...

    async def wait_for(
        self, participant_id: str, thread_id: str, changed_at: datetime, *, timeout: float = 2.0
    ) -> bool: ...


class OutboxPort(Protocol):
    """Intents before changes, events after them."""

    async def intend(self, kind: str, *, share: str | None = None, **ref: Any) -> Document: ...

    def discard(self, intent: Document) -> None: ...

    async def publish_soon(self, intent: Document, events: list[Event]) -> bool: ...

    def publish_later(self, intent: Document, events: list[Event]) -> None: ...


class AccessPort(Protocol):
    """The audit trail's records of accesses."""

    async def record(
        self, who: Participant, action: str, thread_id: str | None, *, outcome: Outcome = "ok"
    ) -> None: ...

    def event(
        self,
        who: Participant,
        action: str,
        thread_id: str | None,
        *,
        outcome: Outcome = "ok",
        event_id: UUID | None = None,
    ) -> AccessRecorded: ...

    def sent(self, doc: Document) -> AccessRecorded: ...
