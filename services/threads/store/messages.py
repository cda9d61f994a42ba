"""Messages: insert-only documents, seq and idempotency guarded by unique indexes.

A message's id derives from (thread, client_message_id), so a retry finds its message
by `_id` and a second insert of it fails on `_id`. Seqs are gap-free: a sender tries the
seq after the thread's hint (the highest seq known stored) and moves up by one only when
that seq is taken, so it always lands on the lowest free seq. Bodies are sealed with
envelope encryption bound to the message id; plaintext is never written.
"""

from typing import Any

from services.threads.domain import Message, Participant, SequenceContention, Thread
from shared.clock import utcnow
from shared.crypto import EnvelopeCipher
from shared.ids import stable_uuid
from shared.mongo import DuplicateKeyError, find_by_id
from shared.outbox import pending_update

MAX_SEQ_ATTEMPTS = 200
# After this many taken seqs in a row the hint is far behind: re-read the real highest.
RESYNC_EVERY = 20


def message_id_for(thread_id: str, client_message_id: str) -> str:
    """The one message id a client_message_id can produce in a thread."""
    return str(stable_uuid("message", thread_id, client_message_id))


class MessageStore:
    """The messages collection."""

    def __init__(self, db: Any, cipher: EnvelopeCipher) -> None:
        self.collection = db["messages"]
        self._seq_hints = db["seq_hints"]
        self._cipher = cipher

    async def ensure_indexes(self) -> None:
        """Gap-free, duplicate-free seqs and one message per client_message_id."""
        await self.collection.create_index(
            [("thread_id", 1), ("seq", 1)], unique=True, name="thread_seq"
        )
        await self.collection.create_index(
            [("thread_id", 1), ("client_message_id", 1)], unique=True, name="thread_cmid"
        )

    def to_message(self, doc: dict[str, Any]) -> Message:
        """The domain object of a message document, body decrypted."""
        return Message(
            message_id=doc["_id"],
            thread_id=doc["thread_id"],
            seq=doc["seq"],
            client_message_id=doc["client_message_id"],
            sender_role=doc["sender_role"],
            sender_id=doc["sender_id"],
            sender_display_name=doc["sender_display_name"],
            body=self._cipher.open(doc["body_sealed"], aad=doc["_id"]),
            created_at=doc["created_at"],
        )

    async def by_client_message_id(self, thread_id: str, client_message_id: str) -> Message | None:
        """The message a client_message_id already produced, if any."""
        doc = await find_by_id(
            self.collection, message_id_for(thread_id, client_message_id), thread_id=thread_id
        )
        return self.to_message(doc) if doc else None

    async def _seq_hint(self, thread_id: str) -> int:
        doc = await self._seq_hints.find_one({"_id": thread_id})
        return int(doc["last_seq"]) if doc else 0

    async def _advance_hint(self, thread_id: str, seq: int) -> None:
        try:
            await self._seq_hints.update_one(
                {"_id": thread_id}, {"$max": {"last_seq": seq}}, upsert=True
            )
        except DuplicateKeyError:  # a concurrent first upsert: the document exists now
            await self._seq_hints.update_one({"_id": thread_id}, {"$max": {"last_seq": seq}})

    async def highest_seq(self, thread_id: str, *, not_from: str | None = None) -> int:
        """The thread's highest seq (optionally among messages not sent by `not_from`)."""
        where: dict[str, Any] = {"thread_id": thread_id}
        if not_from is not None:
            where["sender_id"] = {"$ne": not_from}
        cursor = self.collection.find(where, {"seq": 1}).sort("seq", -1).limit(1)
        async for doc in cursor:
            return int(doc["seq"])
        return 0

    async def count_from_others_after(self, thread_id: str, reader_id: str, seq: int) -> int:
        """Messages the reader did not send with a seq above `seq`."""
        return int(
            await self.collection.count_documents(
                {"thread_id": thread_id, "sender_id": {"$ne": reader_id}, "seq": {"$gt": seq}}
            )
        )

    async def append(
        self,
        thread: Thread,
        sender: Participant,
        sender_display_name: str,
        body: str,
        client_message_id: str,
    ) -> tuple[Message, dict[str, Any] | None]:
        """Store a message at the next free seq; a repeated client_message_id returns the first.

        Returns the message and its new document (None when it already existed).
        """
        recipient_id, recipient_role = thread.other_party(sender)
        message_id = message_id_for(thread.thread_id, client_message_id)
        doc: dict[str, Any] = {
            "_id": message_id,
            "thread_id": thread.thread_id,
            "practice_id": thread.practice_id,
            "provider_id": thread.provider_id,
            "client_id": thread.client_id,
            "client_message_id": client_message_id,
            "sender_role": sender.role,
            "sender_id": sender.id,
            "sender_display_name": sender_display_name,
            "recipient_role": recipient_role,
            "recipient_id": recipient_id,
            "body_sealed": self._cipher.seal(body, aad=message_id),
            "created_at": utcnow(),
        }
        seq = await self._seq_hint(thread.thread_id) + 1
        for attempt in range(1, MAX_SEQ_ATTEMPTS + 1):
            doc["seq"] = seq
            doc.update(pending_update())
            try:
                await self.collection.insert_one(doc)
            except DuplicateKeyError:
                existing = await find_by_id(self.collection, message_id)
                if existing is not None:
                    return self.to_message(existing), None
                seq += 1  # that seq is taken: the next one up is the lowest possibly free
                if attempt % RESYNC_EVERY == 0:
                    seq = max(seq, await self.highest_seq(thread.thread_id) + 1)
                continue
            await self._advance_hint(thread.thread_id, seq)
            return self.to_message(doc), doc
        raise SequenceContention(thread.thread_id)

    async def page(self, thread_id: str, *, before_seq: int | None, limit: int) -> list[Message]:
        """Messages newest first, below `before_seq` when given."""
        where: dict[str, Any] = {"thread_id": thread_id}
        if before_seq is not None:
            where["seq"] = {"$lt": before_seq}
        cursor = self.collection.find(where).sort("seq", -1).limit(limit)
        return [self.to_message(doc) async for doc in cursor]
