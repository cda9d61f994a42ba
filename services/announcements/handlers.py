"""Announcements use cases; framework-free, collaborators passed in."""

from services.announcements.domain import (
    Announcement,
    AnnouncementNotFound,
    Draft,
    InboxItem,
    NewAnnouncement,
    Outcome,
    Receipt,
    Recipients,
    Stats,
    UnknownRecipients,
    check_recipient_count,
    unique_in_order,
)
from services.announcements.store import (
    AnnouncementStore,
    ClientProjection,
    DeliveryStats,
    ReadMarks,
)
from shared.events.clients import ClientRecordChanged
from shared.events.notify import DeliveryRecorded
from shared.ratelimit import RateLimiter


async def record_client(record: ClientRecordChanged, *, clients: ClientProjection) -> None:
    """Project a practice system's client record."""
    await clients.upsert(record)


async def record_deliveries(
    events: list[DeliveryRecorded], positions: list[tuple[int, int]], *, stats: DeliveryStats
) -> None:
    """Count a batch of announcements' delivery outcomes (each at its partition and offset).

    Direct-message outcomes are not ours.
    """
    await stats.apply(
        [
            Outcome(
                announcement_id=e.source_id,
                practice_id=e.practice_id,
                recipient_id=e.recipient_id,
                channel=e.channel,
                status=e.status,
                partition=partition,
                offset=offset,
            )
            for e, (partition, offset) in zip(events, positions, strict=True)
            if e.source == "announcement"
        ]
    )


async def resolve_recipients(
    practice_id: str, recipients: Recipients, *, clients: ClientProjection, max_recipients: int
) -> tuple[str, ...]:
    """The client ids an announcement goes to; blocks play no part (direct messages only)."""
    if recipients.all_clients:
        check_recipient_count(await clients.count_active(practice_id), max_recipients)
        ids = await clients.active_ids(practice_id)
    else:
        # Counted before de-duplication too: a list of repeats is no cheaper to handle.
        check_recipient_count(len(recipients.client_ids), max_recipients)
        ids = unique_in_order(recipients.client_ids)
        if len(await clients.known(practice_id, ids)) != len(ids):
            raise UnknownRecipients()
    check_recipient_count(len(ids), max_recipients)
    return ids


async def preview_recipients(
    practice_id: str, recipients: Recipients, *, clients: ClientProjection, max_recipients: int
) -> int:
    """How many clients an announcement would reach, validated exactly as sending would."""
    ids = await resolve_recipients(
        practice_id, recipients, clients=clients, max_recipients=max_recipients
    )
    return len(ids)


async def send_announcement(
    cmd: NewAnnouncement,
    *,
    clients: ClientProjection,
    announcements: AnnouncementStore,
    max_recipients: int,
    limit: RateLimiter,
) -> Receipt:
    """Store an announcement with its resolved recipients and publish it, once per key.

    A new announcement spends one of the practice's (RateLimited once they are spent); a
    repeated idempotency key returns the first one without spending.
    """
    existing = await announcements.find_receipt(cmd.author_id, cmd.idempotency_key)
    if existing is not None:
        return existing
    ids = await resolve_recipients(
        cmd.practice_id, cmd.recipients, clients=clients, max_recipients=max_recipients
    )
    await limit.acquire(cmd.practice_id)
    draft = Draft(
        practice_id=cmd.practice_id,
        author_id=cmd.author_id,
        idempotency_key=cmd.idempotency_key,
        body=cmd.body,
        subject=cmd.subject,
        recipient_ids=ids,
    )
    return await announcements.create(draft)


async def announcement_stats(
    announcement: Announcement, *, stats: DeliveryStats, reads: ReadMarks
) -> Stats:
    """Exact counts of distinct recipients, read from the counts kept as outcomes arrive."""
    tally = await stats.tally(announcement.announcement_id)
    return Stats(
        recipients=announcement.recipient_count,
        delivered=tally.delivered,
        notified=tally.notified,
        failed=tally.failed,
        read=await reads.count(announcement.announcement_id),
    )


async def list_sent(
    practice_id: str,
    author_id: str,
    *,
    after: str | None,
    limit: int,
    announcements: AnnouncementStore,
) -> list[Announcement]:
    """The author's announcements, newest first."""
    return await announcements.by_author(practice_id, author_id, after=after, limit=limit)


async def get_sent(
    announcement_id: str, practice_id: str, author_id: str, *, announcements: AnnouncementStore
) -> Announcement:
    """One of the author's announcements; anyone else's does not exist for them."""
    found = await announcements.get(announcement_id)
    if found is None or found.author_id != author_id or found.practice_id != practice_id:
        raise AnnouncementNotFound(announcement_id)
    return found


async def list_inbox(
    practice_id: str,
    client_id: str,
    *,
    after: str | None,
    limit: int,
    announcements: AnnouncementStore,
    reads: ReadMarks,
) -> list[InboxItem]:
    """Announcements addressed to the client, newest first, with their read state."""
    page = await announcements.addressed_to(practice_id, client_id, after=after, limit=limit)
    read = await reads.read_among(client_id, [a.announcement_id for a in page]) if page else set()
    return [InboxItem(a, a.announcement_id in read) for a in page]


async def get_inbox_item(
    announcement_id: str,
    practice_id: str,
    client_id: str,
    *,
    announcements: AnnouncementStore,
    reads: ReadMarks,
) -> InboxItem:
    """One announcement addressed to the client."""
    found = await announcements.get_addressed_to(announcement_id, practice_id, client_id)
    if found is None:
        raise AnnouncementNotFound(announcement_id)
    read = await reads.read_among(client_id, [announcement_id])
    return InboxItem(found, announcement_id in read)


async def mark_read(
    announcement_id: str,
    practice_id: str,
    client_id: str,
    *,
    announcements: AnnouncementStore,
    reads: ReadMarks,
) -> None:
    """Mark an announcement read by one of its recipients (idempotent)."""
    if not await announcements.is_addressed_to(announcement_id, practice_id, client_id):
        raise AnnouncementNotFound(announcement_id)
    await reads.mark(announcement_id, client_id)
