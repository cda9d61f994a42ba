"""Keeping notify's local copies of other services' facts."""

from dataclasses import dataclass

from services.notify.domain import ClientContact, ReadState
from services.notify.ports import ClientEmailsPort, ReadStatePort


@dataclass(frozen=True)
class Projections:
    """The client directory's addresses and participants' read positions, kept locally."""

    clients: ClientEmailsPort
    reads: ReadStatePort

    async def record_client(self, contact: ClientContact) -> None:
        """Remember a client's email address and status."""
        await self.clients.upsert(contact)

    async def record_read_state(self, state: ReadState) -> None:
        """Remember how far a participant has read and their red-dot count."""
        await self.reads.apply(state)
