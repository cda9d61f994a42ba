"""Sending and reading messages, and what a stored message causes."""

import asyncio

from services.threads import events
from services.threads.domain import (
    Message,
    MessagingDisabled,
    Participant,
    SenderBlocked,
    check_body,
    display_name_or_default,
)
from services.threads.handlers.threads import visible_thread
from services.threads.store import (
    AuditLog,
    BlockList,
    ClientDirectory,
    MessageStore,
    PracticeSettings,
    ProviderProfiles,
    ThreadStore,
    ViewStore,
)
from shared.crypto import EnvelopeCipher
from shared.events.base import Event
from shared.outbox import Document, Outbox


async def _sender_name(
    who: Participant, *, profiles: ProviderProfiles, clients: ClientDirectory
) -> str:
    if who.role == "provider":
        return display_name_or_default(await profiles.display_name(who.id))
    client = await clients.get(who.practice_id, who.id)
    return client.full_name if client else "Client"


async def send_message(
    who: Participant,
    thread_id: str,
    body: str,
    client_message_id: str,
    *,
    threads: ThreadStore,
    messages: MessageStore,
    practices: PracticeSettings,
    blocks: BlockList,
    profiles: ProviderProfiles,
    clients: ClientDirectory,
    audit: AuditLog,
    outbox: Outbox,
) -> tuple[Message, bool]:
    """Append a message (idempotent per client_message_id); True when newly stored.

    The message document carries its pending events; publishing it also updates
    both participants' views (see `message_effects`), so a crash loses nothing.
    """
    check_body(body)
    thread, earlier = await asyncio.gather(
        visible_thread(thread_id, who, threads=threads),
        messages.by_client_message_id(thread_id, client_message_id),
    )
    if earlier is not None:
        await audit.record(who, "message.send.retry", thread_id)
        return earlier, False
    enabled, blocked, name = await asyncio.gather(
        practices.is_enabled(thread.practice_id),
        blocks.is_blocked(thread.provider_id, who.id),
        _sender_name(who, profiles=profiles, clients=clients),
    )
    if not enabled:
        raise MessagingDisabled(thread.practice_id)
    if who.role == "client" and blocked:
        raise SenderBlocked(thread.provider_id)
    message, doc = await messages.append(thread, who, name, body, client_message_id)
    if doc is not None:
        await asyncio.gather(outbox.publish_soon(doc), audit.record(who, "message.send", thread_id))
    else:
        await audit.record(who, "message.send.retry", thread_id)
    return message, doc is not None


async def message_effects(
    doc: Document,
    *,
    views: ViewStore,
    view_outbox: Outbox,
    messages: MessageStore,
    cipher: EnvelopeCipher,
) -> list[Event]:
    """Apply a stored message to both views, then derive its events (safe to repeat)."""
    thread_id, seq, at = doc["thread_id"], doc["seq"], doc["created_at"]
    _, changed = await asyncio.gather(
        views.touch(thread_id, doc["sender_id"], seq, at),
        views.mark_incoming(thread_id, doc["recipient_id"], seq, at),
    )
    if changed is None:  # the recipient already read past it: only move the position
        await views.touch(thread_id, doc["recipient_id"], seq, at)
    else:
        await view_outbox.publish(changed)
    return events.message_events(doc, cipher=cipher)


async def list_messages(
    thread_id: str,
    who: Participant,
    *,
    before_seq: int | None,
    limit: int,
    threads: ThreadStore,
    messages: MessageStore,
    audit: AuditLog,
) -> list[Message]:
    """A page of the thread's messages, newest first (readable even with messaging off)."""
    await visible_thread(thread_id, who, threads=threads)
    await audit.record(who, "message.list", thread_id)
    return await messages.page(thread_id, before_seq=before_seq, limit=limit)
