"""Per-participant thread state: read, unread, archive, and the red dot."""

from services.threads.domain import Participant
from services.threads.handlers.threads import visible_thread
from services.threads.store import AuditLog, MessageStore, ThreadStore, ViewStore
from shared.outbox import Outbox


async def mark_read(
    thread_id: str,
    who: Participant,
    *,
    threads: ThreadStore,
    views: ViewStore,
    messages: MessageStore,
    audit: AuditLog,
    outbox: Outbox,
) -> None:
    """Everything up to the thread's latest message is read."""
    await visible_thread(thread_id, who, threads=threads)
    last = await messages.highest_seq(thread_id)
    doc = await views.set_read(thread_id, who.id, unread=False, read_seq=last)
    # A message stored while we wrote must not be swallowed by this read.
    newer = await messages.highest_seq(thread_id, not_from=who.id)
    if newer > last:
        doc = await views.mark_incoming(thread_id, who.id, newer) or doc
    if doc is not None:
        await outbox.publish_soon(doc)
    await audit.record(who, "thread.read", thread_id)


async def mark_unread(
    thread_id: str,
    who: Participant,
    *,
    threads: ThreadStore,
    views: ViewStore,
    messages: MessageStore,
    audit: AuditLog,
    outbox: Outbox,
) -> None:
    """Come back later: unread from the other party's latest message on."""
    await visible_thread(thread_id, who, threads=threads)
    last_from_other = await messages.highest_seq(thread_id, not_from=who.id)
    read_seq = max(last_from_other - 1, 0)
    doc = await views.set_read(thread_id, who.id, unread=True, read_seq=read_seq)
    if doc is not None:
        await outbox.publish_soon(doc)
    await audit.record(who, "thread.unread", thread_id)


async def set_archived(
    thread_id: str,
    who: Participant,
    archived: bool,
    *,
    threads: ThreadStore,
    views: ViewStore,
    audit: AuditLog,
    outbox: Outbox,
) -> None:
    """Move the thread to the caller's archive, or back to their inbox."""
    await visible_thread(thread_id, who, threads=threads)
    doc = await views.set_archived(thread_id, who.id, archived)
    if doc is not None:
        await outbox.publish_soon(doc)
    await audit.record(who, "thread.archive" if archived else "thread.unarchive", thread_id)


async def unread_threads(who: Participant, *, views: ViewStore) -> int:
    """The red dot: how many of the caller's threads are unread."""
    return await views.count_unread(who.id)
