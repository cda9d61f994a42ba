"""Practice messaging toggle and provider display names."""

import httpx

from shared import topics
from tests.support import TopicTail, auth, body, unique
from tests.threads.factory import (
    Practice,
    add_client,
    box,
    conversation,
    enable_messaging,
    send,
)


async def test_messaging_is_off_until_an_admin_turns_it_on(threads: httpx.AsyncClient) -> None:
    practice = Practice()
    before = await threads.get("/v1/practice/messaging", headers=practice.provider())

    await enable_messaging(threads, practice)
    after = await threads.get("/v1/practice/messaging", headers=practice.provider())

    assert before.json() == {"enabled": False}
    assert after.json() == {"enabled": True}


async def test_only_practice_admins_toggle_messaging(threads: httpx.AsyncClient) -> None:
    practice = Practice()
    for headers in (practice.provider(), practice.client(unique("c-"))):
        r = await threads.put("/v1/practice/messaging", json={"enabled": True}, headers=headers)
        assert r.status_code == 403
        assert r.headers["content-type"] == "application/problem+json"
        assert r.json()["code"] == "forbidden"

    state = await threads.get("/v1/practice/messaging", headers=practice.provider())
    assert state.json() == {"enabled": False}


async def test_a_client_marked_practice_admin_cannot_toggle_messaging(
    threads: httpx.AsyncClient,
) -> None:
    practice = Practice()
    await enable_messaging(threads, practice)
    client_admin = auth(unique("c-"), "client", practice.practice_id, admin=True)
    admin_role = auth(unique("a-"), "admin", practice.practice_id, admin=True)

    refused = [
        await threads.put("/v1/practice/messaging", json={"enabled": False}, headers=headers)
        for headers in (client_admin, admin_role)
    ]
    state = await threads.get("/v1/practice/messaging", headers=practice.provider())

    assert [(r.status_code, r.json()["code"]) for r in refused] == [(403, "forbidden")] * 2
    assert state.json() == {"enabled": True}


async def test_toggle_is_published_on_the_settings_topic(threads: httpx.AsyncClient) -> None:
    practice = Practice()
    async with TopicTail(topics.MESSAGING_SETTINGS) as tail:
        await enable_messaging(threads, practice)
        [record] = await tail.wait_for(lambda r: r.key.decode() == practice.practice_id)

    event = body(record)
    assert event["event_type"] == "practice_messaging_toggled"
    assert event["enabled"] is True


async def test_sending_is_refused_while_messaging_is_off_but_history_stays_readable(
    threads: httpx.AsyncClient,
) -> None:
    chat = await conversation(threads)
    await send(threads, chat.thread_id, chat.provider, "before")
    await enable_messaging(threads, chat.practice, on=False)

    refused = await threads.post(
        f"/v1/threads/{chat.thread_id}/messages",
        json={"body": "after", "client_message_id": unique()},
        headers=chat.client,
    )
    history = await threads.get(f"/v1/threads/{chat.thread_id}/messages", headers=chat.client)

    assert refused.status_code == 403
    assert refused.json()["code"] == "messaging_disabled"
    assert [m["body"] for m in history.json()["items"]] == ["before"]


async def test_new_threads_are_refused_while_messaging_is_off(threads: httpx.AsyncClient) -> None:
    practice = Practice()
    record = await add_client(threads, practice)

    r = await threads.post(
        "/v1/threads", json={"client_id": record["client_id"]}, headers=practice.provider()
    )

    assert r.status_code == 403
    assert r.json()["code"] == "messaging_disabled"


async def test_display_name_defaults_to_your_provider(threads: httpx.AsyncClient) -> None:
    r = await threads.get("/v1/me/messaging-profile", headers=Practice().provider())

    assert r.status_code == 200
    assert r.json()["display_name"] == "Your provider"


async def test_display_name_change_is_published(threads: httpx.AsyncClient) -> None:
    practice = Practice()
    async with TopicTail(topics.MESSAGING_SETTINGS) as tail:
        r = await threads.put(
            "/v1/me/messaging-profile",
            json={"display_name": "Dr. Who"},
            headers=practice.provider(),
        )
        [record] = await tail.wait_for(lambda r: r.key.decode() == practice.provider_id)

    assert r.status_code == 200
    assert body(record)["display_name"] == "Dr. Who"
    got = await threads.get("/v1/me/messaging-profile", headers=practice.provider())
    assert got.json()["display_name"] == "Dr. Who"


async def test_clients_cannot_use_the_messaging_profile(threads: httpx.AsyncClient) -> None:
    headers = Practice().client(unique("c-"))

    get = await threads.get("/v1/me/messaging-profile", headers=headers)
    put = await threads.put("/v1/me/messaging-profile", json={"display_name": "x"}, headers=headers)

    assert (get.status_code, put.status_code) == (403, 403)


async def test_sent_messages_keep_the_display_name_they_were_sent_with(
    threads: httpx.AsyncClient,
) -> None:
    chat = await conversation(threads)
    first = await send(threads, chat.thread_id, chat.provider, "one")
    await threads.put(
        "/v1/me/messaging-profile", json={"display_name": "Dr. Jones"}, headers=chat.provider
    )
    second = await send(threads, chat.thread_id, chat.provider, "two")

    history = await threads.get(f"/v1/threads/{chat.thread_id}/messages", headers=chat.client)

    assert first["sender"]["display_name"] == "Your provider"
    assert second["sender"]["display_name"] == "Dr. Jones"
    names = {m["seq"]: m["sender"]["display_name"] for m in history.json()["items"]}
    assert names == {1: "Your provider", 2: "Dr. Jones"}


async def test_clients_find_threads_by_the_providers_current_display_name(
    threads: httpx.AsyncClient,
) -> None:
    chat = await conversation(threads)
    name = unique("Dr. ")
    await threads.put(
        "/v1/me/messaging-profile", json={"display_name": name}, headers=chat.provider
    )

    # The client's list is a projection: the provider's rename reaches it a moment later.
    found = await box(threads, chat.client, q=name.upper(), settle_on=[chat.thread_id])
    listed = await threads.get("/v1/threads", headers=chat.client)

    assert found == [chat.thread_id]
    assert listed.json()["items"][0]["provider"] == {
        "provider_id": chat.practice.provider_id,
        "display_name": name,
    }
