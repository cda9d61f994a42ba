"""What a stored message publishes, and the relay that publishes what a crash left pending."""

import httpx

from services.threads.app import build_deps
from services.threads.deps import Deps
from services.threads.domain import Participant
from shared import topics
from shared.ids import stable_uuid
from tests.support import TopicTail, body, header, unique
from tests.threads.factory import conversation, send


async def test_a_message_is_published_without_body_and_charted_with_it(
    threads: httpx.AsyncClient,
) -> None:
    chat = await conversation(threads)
    text = unique("chart me ")
    async with (
        TopicTail(topics.MESSAGING_MESSAGES) as messages,
        TopicTail(topics.MESSAGING_CHART) as chart,
    ):
        sent = await send(threads, chat.thread_id, chat.client, text)
        [message] = await messages.wait_for(lambda r: r.key.decode() == chat.thread_id)
        [entry] = await chart.wait_for(lambda r: body(r)["message_id"] == sent["message_id"])

    event = body(message)
    assert "body" not in event and text not in message.value.decode()
    assert event["message_id"] == sent["message_id"]
    assert (event["seq"], event["sender_id"], event["recipient_id"]) == (
        1,
        chat.client_id,
        chat.practice.provider_id,
    )
    assert event["event_id"] == str(stable_uuid(sent["message_id"], "sent"))
    assert header(message, "ce_type") == "messaging.message.sent"
    assert entry.key.decode() == chat.client_id
    assert body(entry)["body"] == text
    assert body(entry)["event_id"] == str(stable_uuid(sent["message_id"], "chart"))


async def test_a_retry_publishes_nothing_new(threads: httpx.AsyncClient, deps: Deps) -> None:
    chat = await conversation(threads)
    cmid = unique("m-")
    async with TopicTail(topics.MESSAGING_MESSAGES) as messages:
        await send(threads, chat.thread_id, chat.provider, "once", cmid=cmid)
        await messages.wait_for(lambda r: r.key.decode() == chat.thread_id)
        await send(threads, chat.thread_id, chat.provider, "once", cmid=cmid)
        await deps.outbox.close()  # what is published, and the intent lingering for the next
        # Nothing is left for a recovery to publish, and nothing new went out.
        left = await deps.outbox.pending(thread_id=chat.thread_id)
        records = await messages.settle(1.0)

    assert left == []
    assert len([r for r in records if r.key.decode() == chat.thread_id]) == 1


async def test_a_message_stored_before_a_crash_is_published_by_the_next_process(
    threads: httpx.AsyncClient, deps: Deps
) -> None:
    chat = await conversation(threads)
    crashed = build_deps(deps.messaging.messages.collection.database, deps.publisher, deps.cipher)
    thread = await crashed.messaging.threads.get(chat.thread_id)
    assert thread is not None
    client = Participant(chat.client_id, "client", chat.practice.practice_id)
    # The intent and the message are stored, then the process "died" before publishing.
    await crashed.outbox.intend("messages", thread_id=chat.thread_id, after_seq=0)
    message, doc = await crashed.messaging.messages.append(
        thread, client, "Ada", "crash", unique(), known_seq=0
    )
    assert doc is not None
    restarted = build_deps(deps.messaging.messages.collection.database, deps.publisher, deps.cipher)
    async with (
        TopicTail(topics.MESSAGING_MESSAGES) as messages,
        TopicTail(topics.MESSAGING_CHART) as chart,
    ):
        recovered = await restarted.outbox.sweep(at_start=True)
        [sent] = await messages.wait_for(lambda r: body(r)["message_id"] == message.message_id)
        await chart.wait_for(lambda r: body(r)["message_id"] == message.message_id)

    assert recovered >= 1
    assert body(sent)["seq"] == 1
    assert await restarted.outbox.pending(thread_id=chat.thread_id) == []
    provider_view = (
        await threads.get(f"/v1/threads/{chat.thread_id}", headers=chat.provider)
    ).json()
    assert (provider_view["unread"], provider_view["last_seq"]) == (True, 1)
