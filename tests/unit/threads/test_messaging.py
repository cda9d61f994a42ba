"""Sending and reading messages (the Messaging use case) on in-memory stores."""

from dataclasses import dataclass
from datetime import timedelta

import pytest

from services.threads.domain import (
    Client,
    InvalidMessageBody,
    MessagingDisabled,
    Participant,
    SenderBlocked,
    Thread,
    ThreadNotFound,
)
from services.threads.handlers.messages import Messaging
from shared.clock import utcnow
from shared.events.threads import ChartEntry, InboxEntryChanged, MessageSent
from tests.unit.threads.fakes import (
    CIPHER,
    FakeAccess,
    FakeBlocks,
    FakeClients,
    FakeMessages,
    FakeOutbox,
    FakeSettings,
    FakeThreads,
    FakeViews,
)


@dataclass
class World:
    messaging: Messaging
    messages: FakeMessages
    outbox: FakeOutbox
    settings: FakeSettings
    blocks: FakeBlocks
    access: FakeAccess
    thread: Thread
    provider: Participant
    client: Participant


def world() -> World:
    thread = Thread("t1", "pr1", "p1", "c1", created_by="p1", created_at=utcnow())
    threads, views, messages = FakeThreads({"t1": thread}), FakeViews(), FakeMessages()
    views.open(thread)
    settings, blocks, outbox, access = (
        FakeSettings({"pr1"}),
        FakeBlocks(),
        FakeOutbox(),
        FakeAccess(),
    )
    clients = FakeClients({"c1": Client("c1", "pr1", "Ada", "Lovelace", active=True)})
    messaging = Messaging(
        threads=threads,
        messages=messages,
        views=views,
        practices=settings,
        blocks=blocks,
        profiles=settings,
        clients=clients,
        audit=access,
        outbox=outbox,
        cipher=CIPHER,
    )
    return World(
        messaging,
        messages,
        outbox,
        settings,
        blocks,
        access,
        thread,
        Participant("p1", "provider", "pr1"),
        Participant("c1", "client", "pr1"),
    )


async def test_messages_take_consecutive_seqs_and_publish_their_events() -> None:
    w = world()

    first, _ = await w.messaging.send(w.provider, "t1", "hello", "m1")
    second, _ = await w.messaging.send(w.client, "t1", "hi", "m1")

    assert (first.seq, second.seq) == (1, 2)
    assert second.sender_display_name == "Ada Lovelace"
    kinds = [type(e) for e in w.outbox.published]
    assert kinds.count(MessageSent) == kinds.count(ChartEntry) == 2
    assert kinds.count(InboxEntryChanged) == 4  # both participants' views, per message
    assert w.outbox.open == {}


async def test_a_retry_returns_the_first_message_and_publishes_nothing() -> None:
    w = world()
    first, created = await w.messaging.send(w.provider, "t1", "hello", "m1")
    published = len(w.outbox.published)

    again, created_again = await w.messaging.send(w.provider, "t1", "hello", "m1")

    assert (created, created_again) == (True, False)
    assert again.message_id == first.message_id
    assert len(w.outbox.published) == published
    assert w.outbox.open == {}


async def test_a_blocked_client_is_refused_and_nothing_is_stored() -> None:
    w = world()
    w.blocks.pairs.add(("p1", "c1"))

    with pytest.raises(SenderBlocked):
        await w.messaging.send(w.client, "t1", "let me in", "m1")

    assert w.messages.docs == {}
    assert w.outbox.open == {}


async def test_the_provider_still_writes_to_a_client_they_blocked() -> None:
    w = world()
    w.blocks.pairs.add(("p1", "c1"))

    message, created = await w.messaging.send(w.provider, "t1", "a note", "m1")

    assert (message.seq, created) == (1, True)


async def test_nothing_is_sent_while_messaging_is_off() -> None:
    w = world()
    w.settings.enabled.clear()

    with pytest.raises(MessagingDisabled):
        await w.messaging.send(w.provider, "t1", "hello", "m1")

    assert w.messages.docs == {}


async def test_an_empty_body_is_refused() -> None:
    w = world()

    with pytest.raises(InvalidMessageBody):
        await w.messaging.send(w.provider, "t1", "   ", "m1")


async def test_someone_else_s_thread_is_not_found_and_the_refusal_recorded() -> None:
    w = world()
    stranger = Participant("c2", "client", "pr1")

    with pytest.raises(ThreadNotFound):
        await w.messaging.send(stranger, "t1", "hello", "m1")

    assert w.access.records == [("c2", "thread.access", "t1", "not_found")]


async def test_a_page_is_newest_first_and_stops_at_its_limit() -> None:
    w = world()
    for i in range(5):
        await w.messaging.send(w.provider, "t1", f"m{i}", f"id{i}")

    page = await w.messaging.page(w.client, "t1", before_seq=None, limit=3)
    older = await w.messaging.page(w.client, "t1", before_seq=page[-1].seq, limit=3)

    assert [m.seq for m in page] == [5, 4, 3]
    assert [m.seq for m in older] == [2, 1]
    assert page[0].body == "m4"


async def test_a_recovery_publishes_the_messages_stored_before_it_began_only() -> None:
    w = world()
    await w.messaging.send(w.provider, "t1", "before the crash", "m1")
    await w.messaging.send(w.client, "t1", "after the recovery began", "m1")
    later = w.messages.docs[("t1", 2)]
    later["created_at"] = utcnow() + timedelta(minutes=1)  # its request publishes it

    recovered = await w.messaging.recover({"thread_id": "t1", "after_seq": 0})

    sent = [e.seq for e in recovered if isinstance(e, MessageSent)]
    assert sent == [1]
