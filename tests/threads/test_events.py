"""What a stored message publishes, and the relay that publishes what a crash left pending."""

from datetime import timedelta

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


async def test_a_retry_publishes_nothing_new(threads: httpx.AsyncClient) -> None:
    chat = await conversation(threads)
    cmid = unique("m-")
    async with TopicTail(topics.MESSAGING_MESSAGES) as messages:
        await send(threads, chat.thread_id, chat.provider, "once", cmid=cmid)
        await messages.wait_for(lambda r: r.key.decode() == chat.thread_id)
        await send(threads, chat.thread_id, chat.provider, "once", cmid=cmid)
        records = await messages.settle(0.5)

    assert len([r for r in records if r.key.decode() == chat.thread_id]) == 1


async def test_the_relay_publishes_a_message_stored_before_a_crash(
    threads: httpx.AsyncClient, deps: Deps
) -> None:
    chat = await conversation(threads)
    relay = build_deps(
        deps.messages.collection.database, deps.publisher, deps.cipher, grace=timedelta(0)
    )
    thread = await relay.threads.get(chat.thread_id)
    assert thread is not None
    client = Participant(chat.client_id, "client", chat.practice.practice_id)
    async with (
        TopicTail(topics.MESSAGING_MESSAGES) as messages,
        TopicTail(topics.MESSAGING_CHART) as chart,
    ):
        # Stored, then the process "died" before publishing.
        message, doc = await relay.messages.append(thread, client, "Ada", "crash", unique())
        assert doc is not None and doc["pending"] is True
        published = await relay.outboxes.messages.relay_once()
        [sent] = await messages.wait_for(lambda r: body(r)["message_id"] == message.message_id)
        await chart.wait_for(lambda r: body(r)["message_id"] == message.message_id)

    assert published >= 1
    assert body(sent)["seq"] == 1
    stored = await deps.messages.collection.find_one({"_id": message.message_id})
    assert stored is not None and stored["pending"] is False
    provider_view = (
        await threads.get(f"/v1/threads/{chat.thread_id}", headers=chat.provider)
    ).json()
    assert (provider_view["unread"], provider_view["last_seq"]) == (True, 1)
