"""Sending and reading messages, and what a stored message causes."""

import asyncio
from dataclasses import dataclass

from services.threads import events
from services.threads.domain import (
    Message,
    MessagingDisabled,
    Participant,
    SenderBlocked,
    Thread,
    check_body,
    display_name_or_default,
)
from services.threads.handlers.threads import visible_thread
from services.threads.ports import (
    AccessPort,
    BlocksPort,
    ClientsPort,
    MessagesPort,
    OutboxPort,
    PracticesPort,
    ProfilesPort,
    ThreadsPort,
    ViewsPort,
)
from shared.clock import utcnow
from shared.crypto import EnvelopeCipher
from shared.events.base import Event
from shared.outbox import Document

# A recovery republishes at most this many messages of one thread per intent.
RECOVERY_SPAN = 1000


def recovery_covers(recovered: Document, waiting: Document) -> bool:
    """Whether recovering one `messages` intent publishes a waiting one's message too.

    The waiting message is stored already and its seq is past the waiting intent's
    `after_seq`, so a recovery of the same thread from no later a seq reads it (well
    within the span).
    """
    start: int = recovered["after_seq"]
    return bool(
        recovered["thread_id"] == waiting["thread_id"]
        and start <= waiting["after_seq"] < start + RECOVERY_SPAN // 2
    )


@dataclass(frozen=True)
class Messaging:
    """The use cases of messages, bound to their stores by the composition root."""

    threads: ThreadsPort
    messages: MessagesPort
    views: ViewsPort
    practices: PracticesPort
    blocks: BlocksPort
    profiles: ProfilesPort
    clients: ClientsPort
    audit: AccessPort
    outbox: OutboxPort
    cipher: EnvelopeCipher

    async def send(
        self, who: Participant, thread_id: str, body: str, client_message_id: str
    ) -> tuple[Message, bool]:
        """Append a message (idempotent per sender's client_message_id); True when new.

        An intent is recorded before the message is stored, so its events and its effect
        on both participants' views happen even if the process dies right after the 201.
        """
        check_body(body)
        thread = await visible_thread(thread_id, who, threads=self.threads, access=self.audit)
        known = await self._known_seq(thread_id, who)
        intent, enabled, blocked, name = await asyncio.gather(
            self.outbox.intend("messages", share=thread_id, thread_id=thread_id, after_seq=known),
            self.practices.is_enabled(thread.practice_id),
            self._blocked(thread, who),
            self._sender_name(who),
        )
        try:
            if not enabled:
                raise MessagingDisabled(thread.practice_id)
            if blocked:
                raise SenderBlocked(thread.provider_id)
            message, doc = await self.messages.append(
                thread, who, name, body, client_message_id, known_seq=known
            )
        except BaseException:
            self.outbox.discard(intent)
            raise
        if doc is None:
            self.outbox.discard(intent)
            await self.audit.record(who, "message.send.retry", thread_id)
            return message, False
        # Stored, with both views updated: answer now, the intent sees the events out.
        self.outbox.publish_later(intent, await self.effects(doc))
        return message, True

    async def page(
        self, who: Participant, thread_id: str, *, before_seq: int | None, limit: int
    ) -> list[Message]:
        """A page of the thread's messages, newest first (readable even with messaging off)."""
        await visible_thread(thread_id, who, threads=self.threads, access=self.audit)
        if before_seq is not None:
            top = before_seq - 1
        else:
            top = await self.messages.last_seq(thread_id, await self._known_seq(thread_id, who))
        found, _ = await asyncio.gather(
            self.messages.page(thread_id, top=top, limit=limit),
            self.audit.record(who, "message.list", thread_id),
        )
        return found

    async def effects(self, doc: Document) -> list[Event]:
        """Apply a stored message to both views, then derive its events (safe to repeat)."""
        thread_id, seq, at = doc["thread_id"], doc["seq"], doc["created_at"]
        sender, (_, recipient) = await asyncio.gather(
            self.views.on_sent(thread_id, doc["sender_id"], seq, at),
            self.views.on_received(thread_id, doc["recipient_id"], seq, at),
        )
        found = [*events.message_events(doc, cipher=self.cipher), self.audit.sent(doc)]
        for view in (sender, recipient):
            if view is not None:
                found += events.inbox_events(view)
        return found

    async def recover(self, ref: Document) -> list[Event]:
        """The events of every message stored since an intent, and both views' state.

        Messages sent after the recovery began are not its own: their requests publish
        them. Chasing them (a busy thread after a crash) republished every message sent
        while the recovery ran, and slowed it down for everyone.
        """
        thread_id, found, began = ref["thread_id"], [], utcnow()
        seq = ref["after_seq"] + 1
        while seq <= ref["after_seq"] + RECOVERY_SPAN:
            doc = await self.messages.at(thread_id, seq)
            if doc is None or doc["created_at"] > began:
                break
            found += await self.effects(doc)
            seq += 1
        thread = await self.threads.get(thread_id)
        if thread is not None:
            for participant_id in (thread.provider_id, thread.client_id):
                view = await self.views.by_id(f"{thread_id}:{participant_id}")
                if view is not None:
                    found += events.inbox_events(view)
        return found

    async def _known_seq(self, thread_id: str, who: Participant) -> int:
        """The highest seq this process knows, or the caller's view of it (first use)."""
        known = self.messages.hints.get(thread_id)
        if known is None:
            view = await self.views.get(thread_id, who.id)
            known = view.last_seq if view else 0
            self.messages.hints.advance(thread_id, known)
        return known

    async def _blocked(self, thread: Thread, who: Participant) -> bool:
        if who.role != "client":
            return False  # the provider can still write to a client they blocked
        return await self.blocks.is_blocked(thread.provider_id, who.id)

    async def _sender_name(self, who: Participant) -> str:
        if who.role == "provider":
            return display_name_or_default(await self.profiles.display_name(who.id))
        client = await self.clients.get(who.practice_id, who.id)
        return client.full_name if client else "Client"
