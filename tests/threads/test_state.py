"""Per-participant read, unread and archive state, and the red dot."""

from typing import Any

import httpx

from shared import topics
from tests.support import TopicTail, body, eventually
from tests.threads.factory import box, conversation, red_dot, send, thread_of


async def test_a_client_message_makes_the_thread_unread_for_the_provider_only(
    threads: httpx.AsyncClient,
) -> None:
    chat = await conversation(threads)

    await send(threads, chat.thread_id, chat.client, "one")
    await send(threads, chat.thread_id, chat.client, "two")

    provider_view = await thread_of(threads, chat.thread_id, chat.provider)
    client_view = await thread_of(threads, chat.thread_id, chat.client)
    assert (provider_view["unread"], provider_view["unread_count"]) == (True, 2)
    assert (client_view["unread"], client_view["unread_count"]) == (False, 0)
    assert await red_dot(threads, chat.provider, settle_on=1) == 1
    assert await red_dot(threads, chat.client) == 0


async def test_reading_clears_unread_and_the_red_dot(threads: httpx.AsyncClient) -> None:
    chat = await conversation(threads)
    await send(threads, chat.thread_id, chat.client)

    r = await threads.post(f"/v1/threads/{chat.thread_id}/read", headers=chat.provider)

    assert r.status_code == 204
    view = await thread_of(threads, chat.thread_id, chat.provider)
    assert (view["unread"], view["unread_count"], view["read_seq"]) == (False, 0, 1)
    assert await red_dot(threads, chat.provider) == 0


async def test_marking_unread_keeps_the_thread_unread_until_read_again(
    threads: httpx.AsyncClient,
) -> None:
    chat = await conversation(threads)
    await send(threads, chat.thread_id, chat.client, "from client")
    await send(threads, chat.thread_id, chat.provider, "reply")
    await threads.post(f"/v1/threads/{chat.thread_id}/read", headers=chat.provider)

    r = await threads.post(f"/v1/threads/{chat.thread_id}/unread", headers=chat.provider)
    view = await thread_of(threads, chat.thread_id, chat.provider)
    dot = await red_dot(threads, chat.provider)
    await threads.post(f"/v1/threads/{chat.thread_id}/read", headers=chat.provider)

    assert r.status_code == 204
    assert (view["unread"], view["unread_count"], view["read_seq"]) == (True, 1, 0)
    assert dot == 1
    assert await red_dot(threads, chat.provider) == 0


async def test_red_dot_counts_threads_not_messages(threads: httpx.AsyncClient) -> None:
    first = await conversation(threads)
    await send(threads, first.thread_id, first.client)
    await send(threads, first.thread_id, first.client)

    assert await red_dot(threads, first.provider, settle_on=1) == 1


async def test_archive_and_unarchive_move_the_thread_between_boxes(
    threads: httpx.AsyncClient,
) -> None:
    chat = await conversation(threads)

    archived = await threads.post(f"/v1/threads/{chat.thread_id}/archive", headers=chat.provider)
    in_archive = await box(threads, chat.provider, "archive")
    in_inbox = await box(threads, chat.provider, "inbox")
    unarchived = await threads.post(
        f"/v1/threads/{chat.thread_id}/unarchive", headers=chat.provider
    )

    assert (archived.status_code, unarchived.status_code) == (204, 204)
    assert (in_archive, in_inbox) == ([chat.thread_id], [])
    assert await box(threads, chat.provider, "inbox") == [chat.thread_id]
    assert await box(threads, chat.provider, "archive") == []


async def test_archive_is_per_participant(threads: httpx.AsyncClient) -> None:
    chat = await conversation(threads)

    await threads.post(f"/v1/threads/{chat.thread_id}/archive", headers=chat.provider)

    assert await box(threads, chat.client, "inbox") == [chat.thread_id]


async def test_a_new_client_message_brings_an_archived_thread_back(
    threads: httpx.AsyncClient,
) -> None:
    chat = await conversation(threads)
    await threads.post(f"/v1/threads/{chat.thread_id}/archive", headers=chat.provider)

    await send(threads, chat.thread_id, chat.client, "are you there?")

    assert await box(threads, chat.provider, "inbox", settle_on=[chat.thread_id]) == [
        chat.thread_id
    ]
    assert (await thread_of(threads, chat.thread_id, chat.provider))["archived"] is False


async def test_the_providers_own_message_keeps_the_thread_archived(
    threads: httpx.AsyncClient,
) -> None:
    chat = await conversation(threads)
    await threads.post(f"/v1/threads/{chat.thread_id}/archive", headers=chat.provider)

    await send(threads, chat.thread_id, chat.provider, "fyi")

    assert await box(threads, chat.provider, "archive") == [chat.thread_id]
    assert (await thread_of(threads, chat.thread_id, chat.provider))["unread"] is False


async def test_state_changes_are_published_with_the_red_dot_count(
    threads: httpx.AsyncClient,
) -> None:
    chat = await conversation(threads)
    async with TopicTail(topics.MESSAGING_THREADS) as tail:
        await send(threads, chat.thread_id, chat.client)
        await threads.post(f"/v1/threads/{chat.thread_id}/read", headers=chat.provider)

        def state_of_this_thread(r: Any) -> bool:
            return (
                r.key.decode() == chat.thread_id
                and body(r).get("event_type") == "thread_state_changed"
            )

        async def two_states() -> list[dict[str, Any]] | None:
            await tail.wait_for(state_of_this_thread)
            # Consumers deduplicate by event id, so count distinct ones (first seen wins).
            distinct: dict[str, dict[str, Any]] = {}
            for r in tail.records:
                if state_of_this_thread(r):
                    distinct.setdefault(body(r)["event_id"], body(r))
            return list(distinct.values()) if len(distinct) >= 2 else None

        states = await eventually(two_states)

    assert [(s["unread"], s["unread_count"], s["unread_threads"]) for s in states] == [
        (True, 1, 1),
        (False, 0, 0),
    ]
    assert {s["participant_id"] for s in states} == {chat.practice.provider_id}
    assert len({s["event_id"] for s in states}) == 2
