"""Opening, finding and listing threads: one thread per provider-client pair."""

import asyncio

import httpx

from shared import topics
from tests.support import TopicTail, body, unique
from tests.threads.factory import (
    Practice,
    add_client,
    add_provider,
    box,
    client_opens,
    conversation,
    enable_messaging,
    open_thread,
    send,
    thread_of,
)


async def test_opening_an_existing_pair_returns_the_same_thread(
    threads: httpx.AsyncClient,
) -> None:
    chat = await conversation(threads)

    again = await open_thread(threads, chat.practice, chat.client_id, expect=200)

    assert again == chat.thread_id


async def test_concurrent_opens_create_exactly_one_thread(threads: httpx.AsyncClient) -> None:
    practice = Practice()
    await enable_messaging(threads, practice)
    record = await add_client(threads, practice)

    responses = await asyncio.gather(
        *(
            threads.post(
                "/v1/threads", json={"client_id": record["client_id"]}, headers=practice.provider()
            )
            for _ in range(10)
        )
    )

    assert sorted(r.status_code for r in responses) == [200] * 9 + [201]
    assert len({r.json()["thread_id"] for r in responses}) == 1


async def test_thread_creation_is_published(threads: httpx.AsyncClient) -> None:
    async with TopicTail(topics.MESSAGING_THREADS) as tail:
        chat = await conversation(threads)
        [record] = await tail.wait_for(
            lambda r: (
                r.key.decode() == chat.thread_id and body(r).get("event_type") == "thread_created"
            )
        )

    assert body(record)["client_id"] == chat.client_id
    assert body(record)["provider_id"] == chat.practice.provider_id


async def test_a_client_opens_the_thread_with_their_provider(threads: httpx.AsyncClient) -> None:
    chat = await conversation(threads)

    r = await client_opens(threads, chat.practice, chat.client_id)

    assert r.status_code == 200
    assert r.json()["thread_id"] == chat.thread_id
    assert r.json()["provider"]["display_name"] == "Your provider"


async def test_a_client_starts_a_new_thread_with_another_provider(
    threads: httpx.AsyncClient,
) -> None:
    chat = await conversation(threads)
    other = await add_provider(chat.practice, unique("p-"))

    r = await client_opens(threads, chat.practice, chat.client_id, other)
    mine = await box(threads, chat.practice.provider(other))

    assert r.status_code == 201
    assert mine == [r.json()["thread_id"]]


async def test_unknown_clients_get_no_thread(threads: httpx.AsyncClient) -> None:
    practice = Practice()
    await enable_messaging(threads, practice)

    r = await threads.post(
        "/v1/threads", json={"client_id": unique("c-")}, headers=practice.provider()
    )

    assert r.status_code == 404
    assert r.json()["code"] == "client_not_found"


async def test_another_practices_client_is_not_found(threads: httpx.AsyncClient) -> None:
    theirs = await conversation(threads)
    mine = Practice()
    await enable_messaging(threads, mine)

    r = await threads.post(
        "/v1/threads", json={"client_id": theirs.client_id}, headers=mine.provider()
    )

    assert r.status_code == 404


async def test_inactive_clients_get_no_new_thread_but_keep_the_existing_one(
    threads: httpx.AsyncClient,
) -> None:
    chat = await conversation(threads)
    practice = chat.practice
    inactive = await add_client(threads, practice, status="inactive")
    await add_client(threads, practice, status="inactive", client_id=chat.client_id)

    new = await threads.post(
        "/v1/threads", json={"client_id": inactive["client_id"]}, headers=practice.provider()
    )
    existing = await open_thread(threads, practice, chat.client_id, expect=200)

    assert new.status_code == 422
    assert new.json()["code"] == "client_inactive"
    assert existing == chat.thread_id


async def test_providers_send_only_client_id_and_clients_only_provider_id(
    threads: httpx.AsyncClient,
) -> None:
    chat = await conversation(threads)

    wrong_provider = await threads.post(
        "/v1/threads", json={"provider_id": "x"}, headers=chat.provider
    )
    wrong_client = await threads.post("/v1/threads", json={"client_id": "x"}, headers=chat.client)

    assert (wrong_provider.status_code, wrong_client.status_code) == (422, 422)


async def test_thread_shows_the_other_party(threads: httpx.AsyncClient) -> None:
    chat = await conversation(threads, first_name="Grace")

    as_provider = await thread_of(threads, chat.thread_id, chat.provider)
    as_client = await thread_of(threads, chat.thread_id, chat.client)

    assert as_provider["client"]["client_id"] == chat.client_id
    assert as_provider["client"]["first_name"] == "Grace"
    assert as_client["provider"]["provider_id"] == chat.practice.provider_id
    assert as_provider["unread"] is False and as_provider["archived"] is False


async def test_threads_are_listed_newest_activity_first_across_pages(
    threads: httpx.AsyncClient,
) -> None:
    practice = Practice()
    await enable_messaging(threads, practice)
    ids = []
    for _ in range(3):
        record = await add_client(threads, practice)
        ids.append(await open_thread(threads, practice, record["client_id"]))
    await send(threads, ids[0], practice.provider())
    # The list is a projection: the send reaches it a moment after its 201.
    await box(threads, practice.provider(), settle_on=[ids[0], ids[2], ids[1]])

    first = await threads.get("/v1/threads", params={"limit": 2}, headers=practice.provider())
    rest = await threads.get(
        "/v1/threads",
        params={"limit": 2, "cursor": first.json()["next_cursor"]},
        headers=practice.provider(),
    )

    listed = [t["thread_id"] for t in first.json()["items"] + rest.json()["items"]]
    assert listed == [ids[0], ids[2], ids[1]]
    assert rest.json()["next_cursor"] is None
    assert first.json()["items"][0]["last_message_at"] is not None


async def test_providers_filter_threads_by_client_name(threads: httpx.AsyncClient) -> None:
    practice = Practice()
    await enable_messaging(threads, practice)
    wanted = await add_client(threads, practice, first_name="Zelda", last_name=unique("Fitz"))
    other = await add_client(threads, practice)
    wanted_thread = await open_thread(threads, practice, wanted["client_id"])
    await open_thread(threads, practice, other["client_id"])

    found = await box(threads, practice.provider(), q=f"zelda {wanted['last_name'][:6]}")

    assert found == [wanted_thread]
