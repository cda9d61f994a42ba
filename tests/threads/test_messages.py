"""Sending and reading messages: seqs, idempotent retries, validation, encryption at rest."""

import asyncio

import httpx

from services.threads.deps import Deps
from tests.support import unique
from tests.threads.factory import conversation, send


async def test_messages_get_consecutive_seqs_and_keep_the_body_verbatim(
    threads: httpx.AsyncClient,
) -> None:
    chat = await conversation(threads)
    text = "  Hi,\n\tsee you Tuesday?  "

    first = await send(threads, chat.thread_id, chat.provider, text)
    second = await send(threads, chat.thread_id, chat.client, "yes")

    assert (first["seq"], second["seq"]) == (1, 2)
    assert first["body"] == text
    assert first["thread_id"] == chat.thread_id
    assert first["sender"] == {
        "role": "provider",
        "id": chat.practice.provider_id,
        "display_name": "Your provider",
    }
    assert second["sender"]["role"] == "client"


async def test_retrying_with_the_same_client_message_id_returns_the_same_message(
    threads: httpx.AsyncClient,
) -> None:
    chat = await conversation(threads)
    cmid = unique("m-")

    first = await send(threads, chat.thread_id, chat.client, "once", cmid=cmid)
    retries = await asyncio.gather(
        *(send(threads, chat.thread_id, chat.client, "once", cmid=cmid) for _ in range(5))
    )
    history = await threads.get(f"/v1/threads/{chat.thread_id}/messages", headers=chat.client)

    assert {(r["message_id"], r["seq"]) for r in retries} == {(first["message_id"], 1)}
    assert len(history.json()["items"]) == 1


async def test_concurrent_senders_get_seqs_one_to_twenty_without_gaps(
    threads: httpx.AsyncClient,
) -> None:
    chat = await conversation(threads)

    sent = await asyncio.gather(
        *(
            send(threads, chat.thread_id, chat.provider if i % 2 else chat.client, f"m{i}")
            for i in range(20)
        )
    )

    assert sorted(m["seq"] for m in sent) == list(range(1, 21))
    assert len({m["message_id"] for m in sent}) == 20


async def test_messages_are_listed_newest_first_in_pages(threads: httpx.AsyncClient) -> None:
    chat = await conversation(threads)
    for i in range(5):
        await send(threads, chat.thread_id, chat.provider, f"m{i}")
    url = f"/v1/threads/{chat.thread_id}/messages"

    page = await threads.get(url, params={"limit": 2}, headers=chat.client)
    older = await threads.get(url, params={"before_seq": 4, "limit": 10}, headers=chat.client)
    by_cursor = await threads.get(
        url, params={"limit": 2, "cursor": page.json()["next_cursor"]}, headers=chat.client
    )

    assert [m["seq"] for m in page.json()["items"]] == [5, 4]
    assert [m["seq"] for m in older.json()["items"]] == [3, 2, 1]
    assert [m["seq"] for m in by_cursor.json()["items"]] == [3, 2]


async def test_list_limit_is_capped_at_one_hundred(threads: httpx.AsyncClient) -> None:
    chat = await conversation(threads)
    for _ in range(101):
        await send(threads, chat.thread_id, chat.provider)

    r = await threads.get(
        f"/v1/threads/{chat.thread_id}/messages", params={"limit": 500}, headers=chat.client
    )

    assert r.status_code == 200
    assert [m["seq"] for m in r.json()["items"]] == list(range(101, 1, -1))
    assert r.json()["next_cursor"] is not None


async def test_bad_message_input_is_rejected_and_nothing_is_stored(
    threads: httpx.AsyncClient, deps: Deps
) -> None:
    chat = await conversation(threads)
    url = f"/v1/threads/{chat.thread_id}/messages"
    bad_bodies: list[object] = [
        {"body": "", "client_message_id": unique()},
        {"body": " \n\t ", "client_message_id": unique()},
        {"body": "x" * 10_001, "client_message_id": unique()},
        {"body": 42, "client_message_id": unique()},
        {"body": "hi", "client_message_id": 7},
        {"body": "hi", "client_message_id": unique(), "urgent": True},
        {"client_message_id": unique()},
    ]

    for payload in bad_bodies:
        r = await threads.post(url, json=payload, headers=chat.provider)
        assert r.status_code == 422, payload if not isinstance(payload, dict) else list(payload)
        assert r.headers["content-type"] == "application/problem+json"
        assert "x" * 100 not in r.text
    malformed = await threads.post(
        url,
        content=b'{"body": "hi",',
        headers={**chat.provider, "content-type": "application/json"},
    )

    assert malformed.status_code == 422
    assert (
        await deps.messaging.messages.collection.count_documents({"thread_id": chat.thread_id}) == 0
    )


async def test_a_body_of_exactly_ten_thousand_characters_is_accepted(
    threads: httpx.AsyncClient,
) -> None:
    chat = await conversation(threads)

    sent = await send(threads, chat.thread_id, chat.provider, "é" * 10_000)

    assert len(sent["body"]) == 10_000


async def test_bodies_are_encrypted_at_rest(threads: httpx.AsyncClient, deps: Deps) -> None:
    chat = await conversation(threads)
    secret = unique("my-private-words-")

    sent = await send(threads, chat.thread_id, chat.client, secret)
    raw = await deps.messaging.messages.collection.find_one({"message_id": sent["message_id"]})

    assert raw is not None
    assert secret.encode() not in repr(raw).encode()
    assert "body" not in raw
    assert set(raw["body_sealed"]) >= {"kid", "ciphertext", "wrapped_key"}
