"""Local projections of other services' facts: client emails, read positions, red dots."""

from typing import Any

from services.notify.domain import ClientContact, ReadPosition, ReadState
from shared.batching import FindBatcher
from shared.mongo import find_each


class ClientEmails:
    """From `practice.clients.v1`: only what notify needs (email, status), never names."""

    def __init__(self, db: Any) -> None:
        self._clients = db["client_emails"]
        self._reads = FindBatcher(self._clients)

    async def upsert(self, contact: ClientContact) -> None:
        """Keep the latest record of a client (replays change nothing)."""
        await self._clients.update_one(
            {"_id": contact.client_id},
            {
                "$set": {
                    "practice_id": contact.practice_id,
                    "email": contact.email,
                    "active": contact.active,
                }
            },
            upsert=True,
        )

    async def email_of(self, practice_id: str, client_id: str) -> str | None:
        """An active client's email address, if the practice has one."""
        return _email(await self._reads.get(client_id), practice_id)

    async def emails_of(self, practice_id: str, client_ids: list[str]) -> dict[str, str]:
        """The addresses of those of the clients that are active and have one."""
        docs = await find_each(self._clients, client_ids)
        found = {i: _email(doc, practice_id) for i, doc in zip(client_ids, docs, strict=True)}
        return {i: email for i, email in found.items() if email}


def _email(doc: dict[str, Any] | None, practice_id: str) -> str | None:
    """A directory record's address, if it is an active client of the practice."""
    if doc is None or doc.get("practice_id") != practice_id or not doc.get("active", True):
        return None
    email: str | None = doc.get("email")
    return email


class ReadStates:
    """From `messaging.threads.v1`: each participant's read position and red dot, per thread.

    One document per (thread, participant), written only by the consumer that owns the
    thread's partition (the topic is keyed by thread), so its non-atomic updates never
    race. It also keeps the participant's red dot as of the thread's latest change: a
    push about a message in that thread reads both in one lookup by `_id`.
    """

    def __init__(self, db: Any) -> None:
        self._reads = db["read_state"]
        self._positions = FindBatcher(self._reads)

    async def apply(self, state: ReadState) -> None:
        """Record a participant's read position (it only moves forward) and red-dot count."""
        await self._reads.update_one(
            {"_id": f"{state.thread_id}:{state.participant_id}"},
            {
                "$max": {"read_seq": state.read_seq},
                "$set": {
                    "unread": state.unread,
                    "unread_threads": state.unread_threads,
                    "as_of": state.as_of,
                    "thread_id": state.thread_id,
                },
            },
            upsert=True,
        )

    async def position(self, thread_id: str, participant_id: str) -> ReadPosition:
        """How far the participant has read in a thread, and their red dot (if known)."""
        doc = await self._positions.get(f"{thread_id}:{participant_id}")
        if doc is None:
            return ReadPosition()
        unread = doc.get("unread_threads")
        return ReadPosition(
            int(doc.get("read_seq", 0)), int(unread) if unread is not None else None
        )
