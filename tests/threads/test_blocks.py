"""Blocks from `messaging.blocks.v1`: a blocked client cannot message that provider."""

import time
from datetime import UTC, datetime, timedelta

import httpx

from services.threads.deps import Deps
from shared import topics
from shared.events.blocks import BlockChanged
from tests.support import eventually, publish_json, unique
from tests.threads.factory import (
    Conversation,
    add_client,
    add_provider,
    conversation,
    open_thread,
    send,
)


async def set_block(chat: Conversation, blocked: bool, client_id: str | None = None) -> None:
    """The blocking service's record for the pair."""
    client_id = client_id or chat.client_id
    provider_id = chat.practice.provider_id
    await publish_json(
        topics.MESSAGING_BLOCKS,
        f"{provider_id}:{client_id}",
        {
            "practice_id": chat.practice.practice_id,
            "provider_id": provider_id,
            "client_id": client_id,
            "blocked": blocked,
        },
    )


async def wait_until_open_answers(http: httpx.AsyncClient, chat: Conversation, status: int) -> None:
    """Poll the client's (side-effect free) open-thread call until it answers `status`."""

    async def answered() -> bool:
        r = await http.post(
            "/v1/threads", json={"provider_id": chat.practice.provider_id}, headers=chat.client
        )
        return r.status_code == status

    await eventually(answered)


async def test_a_blocked_client_cannot_send_and_nothing_is_stored(
    threads: httpx.AsyncClient,
) -> None:
    chat = await conversation(threads)
    started = time.monotonic()
    await set_block(chat, True)
    await wait_until_open_answers(threads, chat, 403)
    lag = time.monotonic() - started
    print(f"\nblock lag (publish to enforcement): {lag * 1000:.0f} ms")

    refused = await send(threads, chat.thread_id, chat.client, "let me in", expect=403)
    history = await threads.get(f"/v1/threads/{chat.thread_id}/messages", headers=chat.client)

    assert refused["code"] == "blocked"
    assert history.json()["items"] == []
    assert lag < 15


async def test_a_blocked_client_cannot_open_the_thread(threads: httpx.AsyncClient) -> None:
    chat = await conversation(threads)
    await set_block(chat, True)
    await wait_until_open_answers(threads, chat, 403)

    r = await threads.post(
        "/v1/threads", json={"provider_id": chat.practice.provider_id}, headers=chat.client
    )

    assert r.json()["code"] == "blocked"


async def test_the_provider_can_still_write_to_a_blocked_client(
    threads: httpx.AsyncClient,
) -> None:
    chat = await conversation(threads)
    await set_block(chat, True)
    await wait_until_open_answers(threads, chat, 403)

    sent = await send(threads, chat.thread_id, chat.provider, "reminder")

    assert sent["seq"] == 1


async def test_other_clients_of_the_provider_are_unaffected(threads: httpx.AsyncClient) -> None:
    chat = await conversation(threads)
    other = await add_client(threads, chat.practice)
    other_thread = await open_thread(threads, chat.practice, other["client_id"])
    await set_block(chat, True)
    await wait_until_open_answers(threads, chat, 403)

    sent = await send(threads, other_thread, chat.practice.client(other["client_id"]), "hi")

    assert sent["seq"] == 1


async def test_unblocking_restores_sending(threads: httpx.AsyncClient) -> None:
    chat = await conversation(threads)
    await set_block(chat, True)
    await wait_until_open_answers(threads, chat, 403)

    await set_block(chat, False)
    await wait_until_open_answers(threads, chat, 200)

    sent = await send(threads, chat.thread_id, chat.client, "thanks")
    assert sent["seq"] == 1


async def test_a_block_by_another_provider_does_not_apply(threads: httpx.AsyncClient) -> None:
    chat = await conversation(threads)
    stranger = await add_provider(chat.practice, unique("p-"))
    await publish_json(
        topics.MESSAGING_BLOCKS,
        f"{stranger}:{chat.client_id}",
        {
            "practice_id": chat.practice.practice_id,
            "provider_id": stranger,
            "client_id": chat.client_id,
            "blocked": True,
        },
    )
    blocked_elsewhere = chat.practice.client(chat.client_id)
    await eventually(
        lambda: _opens(threads, stranger, blocked_elsewhere, 403),
    )

    sent = await send(threads, chat.thread_id, chat.client, "still fine")

    assert sent["seq"] == 1


async def _opens(
    http: httpx.AsyncClient, provider_id: str, headers: dict[str, str], status: int
) -> bool:
    r = await http.post("/v1/threads", json={"provider_id": provider_id}, headers=headers)
    return r.status_code == status


async def test_a_stale_block_event_never_undoes_a_newer_one(deps: Deps) -> None:
    provider_id, client_id = unique("p-"), unique("c-")
    earlier = datetime.now(UTC) - timedelta(seconds=5)

    def change(blocked: bool, at: datetime) -> BlockChanged:
        return BlockChanged(
            practice_id=unique("pr-"),
            provider_id=provider_id,
            client_id=client_id,
            blocked=blocked,
            occurred_at=at,
        )

    assert await deps.directory.blocks.apply(change(False, datetime.now(UTC)))
    # The older block arrives late (a replay, or a relay publishing out of order).
    assert not await deps.directory.blocks.apply(change(True, earlier))

    assert await deps.directory.blocks.is_blocked(provider_id, client_id) is False
