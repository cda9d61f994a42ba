"""Messages: insert-only documents whose `_id` is their (thread, seq) slot.

A message's `_id` derives from its thread and seq, so seqs are gap-free and unique by the
`_id` index itself, and a page of history is read by ids computed from seqs: no query
ever filters or sorts the collection, whatever its size. A sender claims the slot after
the highest seq it knows and moves up one slot at a time while slots are taken, so it
always lands on the lowest free seq. A unique index on (thread, sender, client_message_id)
makes a retry collide instead of storing a second message; the retry then finds its
first message among the thread's latest slots. Bodies are sealed with envelope
encryption bound to the message id; plaintext is never written.
"""

from collections import OrderedDict
from typing import Any

from services.threads.domain import Message, Participant, SequenceContention, Thread
from shared.clock import utcnow
from shared.crypto import EnvelopeCipher
from shared.ids import stable_uuid
from shared.mongo import DuplicateKeyError, find_by_id, find_each

MAX_SEQ_ATTEMPTS = 200
# A retry's first message is looked for among this many latest slots first (it is nearly
# always recent), then among twice as many further back each time, up to the maximum.
PROBE_BATCH = 20
MAX_PROBE_BATCH = 2_000
HINTS_KEPT = 100_000


def slot_id(thread_id: str, seq: int) -> str:
    """The `_id` of a thread's message at one seq (zero-padded: ids sort as seqs do)."""
    return f"{thread_id}:{seq:010d}"


def message_id_for(thread_id: str, sender_id: str, client_message_id: str) -> str:
    """The one public message id a sender's client_message_id can produce in a thread."""
    return str(stable_uuid("message", thread_id, sender_id, client_message_id))


def new_message(
    thread: Thread,
    sender: Participant,
    sender_display_name: str,
    body: str,
    client_message_id: str,
    cipher: EnvelopeCipher,
) -> dict[str, Any]:
    """A message's document before it has a seq, its body sealed to its message id."""
    recipient_id, recipient_role = thread.other_party(sender)
    message_id = message_id_for(thread.thread_id, sender.id, client_message_id)
    return {
        "message_id": message_id,
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
        "body_sealed": cipher.seal(body, aad=message_id),
        "created_at": utcnow(),
    }


def to_message(doc: dict[str, Any], cipher: EnvelopeCipher) -> Message:
    """The domain object of a message document, body decrypted."""
    return Message(
        message_id=doc["message_id"],
        thread_id=doc["thread_id"],
        seq=doc["seq"],
        client_message_id=doc["client_message_id"],
        sender_role=doc["sender_role"],
        sender_id=doc["sender_id"],
        sender_display_name=doc["sender_display_name"],
        body=cipher.open(doc["body_sealed"], aad=doc["message_id"]),
        created_at=doc["created_at"],
    )


class SeqHints:
    """The highest seq this process knows stored, per thread (a hint: never above the truth)."""

    def __init__(self, size: int = HINTS_KEPT) -> None:
        self._hints: OrderedDict[str, int] = OrderedDict()
        self._size = size

    def get(self, thread_id: str) -> int | None:
        """The known highest seq, if any."""
        return self._hints.get(thread_id)

    def advance(self, thread_id: str, seq: int) -> None:
        """Remember a stored seq (never moves back)."""
        if seq > self._hints.get(thread_id, 0):
            self._hints[thread_id] = seq
        if thread_id in self._hints:
            self._hints.move_to_end(thread_id)
        while len(self._hints) > self._size:
            self._hints.popitem(last=False)


class MessageStore:
    """The messages collection."""

    def __init__(self, db: Any, cipher: EnvelopeCipher) -> None:
        self.collection = db["messages"]
        self._cipher = cipher
        self.hints = SeqHints()

    async def ensure_indexes(self) -> None:
        """One message per sender's client_message_id (seqs are unique by `_id`)."""
        await self.collection.create_index(
            [("thread_id", 1), ("sender_id", 1), ("client_message_id", 1)],
            unique=True,
            name="sender_cmid",
        )

    def to_message(self, doc: dict[str, Any]) -> Message:
        """The domain object of a message document, body decrypted."""
        return to_message(doc, self._cipher)

    async def at(self, thread_id: str, seq: int) -> dict[str, Any] | None:
        """The document of the thread's message at `seq`, if stored."""
        return await find_by_id(self.collection, slot_id(thread_id, seq))

    async def last_seq(self, thread_id: str, known: int = 0) -> int:
        """The thread's highest seq: up from a seq known stored, slot by slot."""
        last = max(known, self.hints.get(thread_id) or 0)
        while await self.at(thread_id, last + 1) is not None:
            last += 1
        self.hints.advance(thread_id, last)
        return last

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
        """Store a message at the lowest free seq above `known_seq`.

        A repeated client_message_id returns the first message and no document.
        """
        doc = new_message(
            thread, sender, sender_display_name, body, client_message_id, self._cipher
        )
        message_id = doc["message_id"]
        seq = max(known_seq, self.hints.get(thread.thread_id) or 0) + 1
        for _ in range(MAX_SEQ_ATTEMPTS):
            doc.update(_id=slot_id(thread.thread_id, seq), seq=seq)
            try:
                await self.collection.insert_one(doc)
            except DuplicateKeyError:
                taken = await self.at(thread.thread_id, seq)
                if taken is None or taken["message_id"] == message_id:
                    return await self._earlier(thread.thread_id, message_id, seq, taken), None
                seq += 1  # that slot is taken: the next one up is the lowest possibly free
                continue
            self.hints.advance(thread.thread_id, seq)
            return self.to_message(doc), doc
        raise SequenceContention(thread.thread_id)

    async def _earlier(
        self, thread_id: str, message_id: str, seq: int, taken: dict[str, Any] | None
    ) -> Message:
        """The message a repeated client_message_id stored first."""
        found = taken or await self.find_sent(thread_id, message_id, below=seq)
        if found is None:  # pragma: no cover - the unique index just said it exists
            raise SequenceContention(thread_id)
        return self.to_message(found)

    async def find_sent(
        self, thread_id: str, message_id: str, *, below: int
    ) -> dict[str, Any] | None:
        """A message by its public id among the thread's slots, newest first, read by `_id`.

        Retries are nearly always of a recent message: the first probes are small, and they
        grow (doubling) as they go back. An old one costs reads of this thread's slots only:
        a filter on the collection (what this did past 200 slots) read every message of
        every thread on the development server, minutes of its CPU per retry once history
        was large.
        """
        top = await self.last_seq(thread_id, max(below - 1, 0))
        batch = PROBE_BATCH
        while top > 0:
            seqs = range(top, max(top - batch, 0), -1)
            docs = await find_each(self.collection, [slot_id(thread_id, s) for s in seqs])
            for doc in docs:
                if doc is not None and doc["message_id"] == message_id:
                    return doc
            top -= batch
            batch = min(2 * batch, MAX_PROBE_BATCH)
        return None

    async def page(self, thread_id: str, *, top: int, limit: int) -> list[Message]:
        """Messages newest first from seq `top` down, read by their slot ids."""
        seqs = range(top, max(top - limit, 0), -1)
        docs = await find_each(self.collection, [slot_id(thread_id, s) for s in seqs])
        return [self.to_message(doc) for doc in docs if doc is not None]
