"""Keeping notify's local copies of other services' facts."""

from services.notify.store.projections import ClientEmails, ReadState
from shared.events.clients import ClientRecordChanged
from shared.events.threads import ThreadStateChanged


async def record_client(record: ClientRecordChanged, *, clients: ClientEmails) -> None:
    """Remember a client's email address and status."""
    await clients.upsert(record)


async def record_thread_state(event: ThreadStateChanged, *, reads: ReadState) -> None:
    """Remember how far a participant has read and their red-dot count."""
    await reads.apply(event)
