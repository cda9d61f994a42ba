"""Events as other services publish them, with unique ids per test."""

from datetime import UTC, datetime
from typing import Any

from services.notify.domain import Device
from services.notify.store.users import Users, device_id_for
from shared.events.announcements import AnnouncementPublished
from shared.events.base import Event
from shared.events.clients import ClientRecordChanged
from shared.events.threads import MessageSent, ThreadStateChanged
from tests.support import publish_json, unique


async def publish(event: Event) -> None:
    """Publish an event the way its producing service does (keyed JSON)."""
    await publish_json(event.TOPIC, event.key(), event.model_dump(mode="json"))


def message_sent(
    recipient_id: str, *, recipient_role: str = "client", seq: int = 1, **fields: Any
) -> MessageSent:
    """A message from the other party of a fresh thread to `recipient_id`."""
    other = unique("p-" if recipient_role == "client" else "c-")
    provider, client = (
        (other, recipient_id) if recipient_role == "client" else (recipient_id, other)
    )
    values: dict[str, Any] = {
        "thread_id": unique("t-"),
        "practice_id": unique("pr-"),
        "provider_id": provider,
        "client_id": client,
        "message_id": unique("m-"),
        "seq": seq,
        "sender_role": "provider" if recipient_role == "client" else "client",
        "sender_id": other,
        "recipient_role": recipient_role,
        "recipient_id": recipient_id,
        "sent_at": datetime.now(UTC),
    }
    values.update(fields)
    return MessageSent(**values)


def state_changed(
    message: MessageSent, *, read_seq: int, unread_threads: int = 0
) -> ThreadStateChanged:
    """The recipient's view of the message's thread after a change."""
    return ThreadStateChanged(
        thread_id=message.thread_id,
        practice_id=message.practice_id,
        participant_id=message.recipient_id,
        participant_role=message.recipient_role,
        unread=read_seq < message.seq,
        unread_count=max(message.seq - read_seq, 0),
        archived=False,
        read_seq=read_seq,
        unread_threads=unread_threads,
    )


def announcement(recipient_ids: list[str], practice_id: str | None = None) -> AnnouncementPublished:
    """One part of an announcement to the given clients."""
    return AnnouncementPublished(
        announcement_id=unique("a-"),
        practice_id=practice_id or unique("pr-"),
        author_id=unique("p-"),
        part=1,
        parts=1,
        recipient_count=len(recipient_ids),
        recipient_ids=recipient_ids,
    )


def client_record(practice_id: str, client_id: str, email: str | None) -> ClientRecordChanged:
    """A practice system's record of a client."""
    return ClientRecordChanged(
        practice_id=practice_id,
        client_id=client_id,
        first_name="Sentinel",
        last_name=unique("Name"),
        email=email,
    )


async def add_devices(users: Users, tokens_by_user: dict[str, str]) -> None:
    """Register one iOS device per user straight in the store (fast for many users)."""
    now = datetime.now(UTC)
    await users.add_devices(
        [
            Device(device_id_for(u, t), user_id=u, platform="ios", token=t, registered_at=now)
            for u, t in tokens_by_user.items()
        ]
    )
