"""Events derived from stored documents, for the outboxes (ids stable per revision)."""

import dataclasses
from typing import Any

from services.threads.domain import View
from services.threads.store.views import to_view
from shared.crypto import EnvelopeCipher
from shared.events.base import Event
from shared.events.threads import (
    ChartEntry,
    DisplayNameChanged,
    InboxEntryChanged,
    MessageSent,
    PracticeMessagingToggled,
    ThreadCreated,
    ThreadStateChanged,
)
from shared.ids import stable_uuid
from shared.outbox import Document


async def practice_events(doc: Document) -> list[Event]:
    """A practice's toggle changed."""
    return [
        PracticeMessagingToggled(
            event_id=stable_uuid(doc["_id"], doc["rev"], "toggled"),
            occurred_at=doc["changed_at"],
            practice_id=doc["_id"],
            enabled=doc["enabled"],
            changed_by=doc["changed_by"],
        )
    ]


async def profile_events(doc: Document) -> list[Event]:
    """A provider's display name changed."""
    return [
        DisplayNameChanged(
            event_id=stable_uuid(doc["_id"], doc["rev"], "display_name"),
            occurred_at=doc["changed_at"],
            practice_id=doc["practice_id"],
            provider_id=doc["_id"],
            display_name=doc["display_name"],
        )
    ]


async def thread_events(doc: Document) -> list[Event]:
    """A pair's thread came into being (once per thread)."""
    return [
        ThreadCreated(
            event_id=stable_uuid(doc["_id"], "created"),
            occurred_at=doc["created_at"],
            thread_id=doc["_id"],
            practice_id=doc["practice_id"],
            provider_id=doc["provider_id"],
            client_id=doc["client_id"],
            created_by=doc["created_by"],
        )
    ]


def message_events(doc: Document, *, cipher: EnvelopeCipher) -> list[Event]:
    """MessageSent (no body) for everyone and ChartEntry (with body) for the chart."""
    common: dict[str, Any] = {
        "thread_id": doc["thread_id"],
        "practice_id": doc["practice_id"],
        "provider_id": doc["provider_id"],
        "client_id": doc["client_id"],
        "message_id": doc["message_id"],
        "seq": doc["seq"],
        "sender_role": doc["sender_role"],
        "sender_id": doc["sender_id"],
        "sent_at": doc["created_at"],
    }
    return [
        MessageSent(
            event_id=stable_uuid(doc["message_id"], "sent"),
            occurred_at=doc["created_at"],
            recipient_role=doc["recipient_role"],
            recipient_id=doc["recipient_id"],
            **common,
        ),
        ChartEntry(
            event_id=stable_uuid(doc["message_id"], "chart"),
            occurred_at=doc["created_at"],
            sender_display_name=doc["sender_display_name"],
            body=cipher.open(doc["body_sealed"], aad=doc["message_id"]),
            **common,
        ),
    ]


def inbox_events(doc: Document) -> list[Event]:
    """A participant's view of a thread as it now stands, for their inbox."""
    revision = str(doc.get("rev", "created"))
    view = dataclasses.asdict(to_view(dict(doc)))
    return [
        InboxEntryChanged(
            event_id=stable_uuid(doc["_id"], revision, "inbox"),
            occurred_at=doc.get("changed_at", doc["created_at"]),
            participant_role=view.pop("role"),
            practice_id=doc["practice_id"],
            revision=revision,
            **view,
        )
    ]


def state_event(entry: InboxEntryChanged, unread_threads: int) -> ThreadStateChanged:
    """What notify and others see of a participant's thread state, with their red dot."""
    view = view_of(entry)
    return ThreadStateChanged(
        event_id=stable_uuid(f"{entry.thread_id}:{entry.participant_id}", entry.revision, "state"),
        occurred_at=entry.occurred_at,
        thread_id=entry.thread_id,
        practice_id=entry.practice_id,
        participant_id=entry.participant_id,
        participant_role=entry.participant_role,
        unread=view.unread,
        unread_count=view.unread_count,
        archived=view.archived,
        read_seq=view.read_seq,
        unread_threads=unread_threads,
    )


def view_of(entry: InboxEntryChanged) -> View:
    """The domain view an inbox entry describes."""
    return to_view({**entry.model_dump(), "role": entry.participant_role})
