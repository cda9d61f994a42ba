"""In-memory stand-ins for the threads service's ports, for unit tests of its use cases.

They keep the stores' observable rules (gap-free seqs, one message per sender's
client_message_id, views moved by sends) and nothing else; the real stores are proven on
the real database by the integration tests.
"""

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from uuid import UUID

from services.threads.domain import Client, Message, Participant, Thread, View
from services.threads.store.messages import SeqHints, message_id_for, new_message, to_message
from services.threads.store.views import to_view, view_id
from shared.clock import utcnow
from shared.crypto import EnvelopeCipher
from shared.events.audit import AccessRecorded, Outcome
from shared.events.base import Event
from shared.ids import new_id
from shared.outbox import Document


@dataclass
class FakeThreads:
    threads: dict[str, Thread] = field(default_factory=dict)

    async def get(self, thread_id: str) -> Thread | None:
        return self.threads.get(thread_id)


CIPHER = EnvelopeCipher({"unit": b"u" * 32}, "unit")


@dataclass
class FakeMessages:
    docs: dict[tuple[str, int], dict[str, Any]] = field(default_factory=dict)
    hints: SeqHints = field(default_factory=SeqHints)

    async def at(self, thread_id: str, seq: int) -> dict[str, Any] | None:
        return self.docs.get((thread_id, seq))

    async def last_seq(self, thread_id: str, known: int = 0) -> int:
        return max((s for t, s in self.docs if t == thread_id), default=0)

    async def append(
        self,
        thread: Thread,
        sender: Participant,
        sender_display_name: str,
        body: str,
        client_message_id: str,
        *,
        known_seq: int,
    ) -> tuple[Message, dict[str, Any] | None]:
        message_id = message_id_for(thread.thread_id, sender.id, client_message_id)
        for doc in self.docs.values():
            if doc["message_id"] == message_id:
                return _message(doc), None
        seq = await self.last_seq(thread.thread_id) + 1
        doc = {**new_message(thread, sender, sender_display_name, body, client_message_id, CIPHER)}
        doc["seq"] = seq
        self.docs[(thread.thread_id, seq)] = doc
        return _message(doc), doc

    async def page(self, thread_id: str, *, top: int, limit: int) -> list[Message]:
        seqs = range(top, max(top - limit, 0), -1)
        found = [self.docs.get((thread_id, s)) for s in seqs]
        return [_message(d) for d in found if d is not None]


def _message(doc: dict[str, Any]) -> Message:
    return to_message(doc, CIPHER)


@dataclass
class FakeViews:
    docs: dict[str, dict[str, Any]] = field(default_factory=dict)

    def open(self, thread: Thread) -> None:
        for who, role, other in (
            (thread.provider_id, "provider", thread.client_id),
            (thread.client_id, "client", thread.provider_id),
        ):
            self.docs[view_id(thread.thread_id, who)] = {
                "_id": view_id(thread.thread_id, who),
                "thread_id": thread.thread_id,
                "practice_id": thread.practice_id,
                "participant_id": who,
                "role": role,
                "other_id": other,
                "created_at": thread.created_at,
                "activity_at": thread.created_at,
            }

    async def get(self, thread_id: str, participant_id: str) -> View | None:
        doc = self.docs.get(view_id(thread_id, participant_id))
        return to_view(doc) if doc else None

    async def by_id(self, _id: str) -> dict[str, Any] | None:
        return self.docs.get(_id)

    async def on_sent(
        self, thread_id: str, sender_id: str, seq: int, at: datetime
    ) -> dict[str, Any] | None:
        doc = self.docs.get(view_id(thread_id, sender_id))
        if doc is not None:
            doc.update(last_seq=seq, read_seq=seq, unread=False, own_after_read=0, activity_at=at)
        return doc

    async def on_received(
        self, thread_id: str, recipient_id: str, seq: int, at: datetime
    ) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
        doc = self.docs.get(view_id(thread_id, recipient_id))
        if doc is None:
            return None, None
        before = dict(doc)
        doc.update(last_seq=seq, last_incoming_seq=seq, unread=True, archived=False)
        return before, doc

    async def set_state(
        self, thread_id: str, participant_id: str, fields: dict[str, Any]
    ) -> dict[str, Any] | None:
        doc = self.docs.get(view_id(thread_id, participant_id))
        if doc is not None:
            doc.update(fields, changed_at=utcnow(), rev=new_id())
        return doc


@dataclass
class FakeSettings:
    enabled: set[str] = field(default_factory=set)
    names: dict[str, str] = field(default_factory=dict)

    async def is_enabled(self, practice_id: str) -> bool:
        return practice_id in self.enabled

    async def display_name(self, provider_id: str) -> str | None:
        return self.names.get(provider_id)


@dataclass
class FakeBlocks:
    pairs: set[tuple[str, str]] = field(default_factory=set)

    async def is_blocked(self, provider_id: str, client_id: str) -> bool:
        return (provider_id, client_id) in self.pairs


@dataclass
class FakeClients:
    clients: dict[str, Client] = field(default_factory=dict)

    async def get(self, practice_id: str, client_id: str) -> Client | None:
        client = self.clients.get(client_id)
        return client if client and client.practice_id == practice_id else None


@dataclass
class FakeOutbox:
    """Records intents and what each published; nothing leaves the process."""

    open: dict[str, Document] = field(default_factory=dict)
    published: list[Event] = field(default_factory=list)

    async def intend(self, kind: str, *, share: str | None = None, **ref: Any) -> Document:
        intent = {"_id": new_id(), "kind": kind, "ref": ref}
        self.open[intent["_id"]] = intent
        return intent

    def discard(self, intent: Document) -> None:
        self.open.pop(intent["_id"], None)

    async def publish_soon(self, intent: Document, events: list[Event]) -> bool:
        self.published += events
        self.open.pop(intent["_id"], None)
        return True

    def publish_later(self, intent: Document, events: list[Event]) -> None:
        self.published += events
        self.open.pop(intent["_id"], None)


@dataclass
class FakeAccess:
    records: list[tuple[str, str, str | None, str]] = field(default_factory=list)

    async def record(
        self, who: Participant, action: str, thread_id: str | None, *, outcome: Outcome = "ok"
    ) -> None:
        self.records.append((who.id, action, thread_id, outcome))

    def event(
        self,
        who: Participant,
        action: str,
        thread_id: str | None,
        *,
        outcome: Outcome = "ok",
        event_id: UUID | None = None,
    ) -> AccessRecorded:
        return AccessRecorded(
            practice_id=who.practice_id,
            actor_id=who.id,
            actor_role=who.role,
            action=action,
            resource_type="thread",
            thread_id=thread_id,
            outcome=outcome,
        )

    def sent(self, doc: Document) -> AccessRecorded:
        self.records.append((doc["sender_id"], "message.send", doc["thread_id"], "ok"))
        return AccessRecorded(
            practice_id=doc["practice_id"],
            actor_id=doc["sender_id"],
            actor_role=doc["sender_role"],
            action="message.send",
            resource_type="message",
            thread_id=doc["thread_id"],
        )
