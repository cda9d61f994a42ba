"""The client directory: practice systems publish clients; providers search them."""

from typing import Any

import httpx

from services.threads import events
from services.threads.deps import Deps
from services.threads.store.views import view_id
from shared import topics
from tests.support import (
    TopicTail,
    auth,
    body,
    client_record,
    eventually,
    header,
    publish_json,
    unique,
)
from tests.threads.factory import (
    Conversation,
    box,
    conversation,
)


async def search(client: httpx.AsyncClient, practice_id: str, q: str) -> list[dict[str, object]]:
    response = await client.get(
        "/v1/clients", params={"q": q}, headers=auth("p1", "provider", practice_id)
    )
    assert response.status_code == 200, response.text
    items: list[dict[str, object]] = response.json()["items"]
    return items


async def test_published_client_is_found_by_name(threads: httpx.AsyncClient) -> None:
    practice = unique("pr-")
    record = client_record(practice)
    await publish_json(topics.PRACTICE_CLIENTS, str(record["client_id"]), record)

    found = await eventually(lambda: search(threads, practice, str(record["last_name"]).upper()))

    assert found == [
        {
            "client_id": record["client_id"],
            "first_name": "Ada",
            "last_name": record["last_name"],
            "active": True,
        }
    ]


async def test_search_matches_first_and_last_name_together(threads: httpx.AsyncClient) -> None:
    practice = unique("pr-")
    record = client_record(practice, first_name="Grace", last_name="Hopper")
    await publish_json(topics.PRACTICE_CLIENTS, str(record["client_id"]), record)

    found = await eventually(lambda: search(threads, practice, "grace hop"))

    assert [c["client_id"] for c in found] == [record["client_id"]]


async def test_search_never_shows_another_practices_clients(threads: httpx.AsyncClient) -> None:
    mine, theirs = unique("pr-"), unique("pr-")
    name = unique("Shared")
    own, foreign = client_record(mine, last_name=name), client_record(theirs, last_name=name)
    for record in (foreign, own):
        await publish_json(topics.PRACTICE_CLIENTS, str(record["client_id"]), record)

    found = await eventually(lambda: search(threads, mine, name))

    assert [c["client_id"] for c in found] == [own["client_id"]]


async def raw_client(deps: Deps, client_id: str) -> dict[str, Any] | None:
    """The projection's document of a client, as the database holds it."""
    doc: dict[str, Any] | None = await deps.messaging.messages.collection.database[
        "clients"
    ].find_one({"_id": client_id})
    return doc


async def test_the_projection_does_not_store_client_emails(
    threads: httpx.AsyncClient, deps: Deps
) -> None:
    email = f"{unique('ada-')}@example.org"
    record = client_record(unique("pr-"), email=email)
    await publish_json(topics.PRACTICE_CLIENTS, str(record["client_id"]), record)

    doc = await eventually(lambda: raw_client(deps, str(record["client_id"])))

    assert "email" not in doc
    assert email not in repr(doc)


async def test_a_stored_email_is_dropped_on_the_clients_next_record(
    threads: httpx.AsyncClient, deps: Deps
) -> None:
    email = f"{unique('ada-')}@example.org"
    record = client_record(unique("pr-"), email=email)
    clients = deps.messaging.messages.collection.database["clients"]
    await clients.insert_one({"_id": record["client_id"], "email": email, "last_name": "Old"})
    await publish_json(topics.PRACTICE_CLIENTS, str(record["client_id"]), record)

    async def updated() -> dict[str, Any] | None:
        doc = await raw_client(deps, str(record["client_id"]))
        return doc if doc and doc.get("last_name") == record["last_name"] else None

    doc = await eventually(updated)

    assert "email" not in doc


async def test_clients_cannot_search_the_directory(threads: httpx.AsyncClient) -> None:
    response = await threads.get("/v1/clients", headers=auth("c1", "client", unique("pr-")))

    assert response.status_code == 403
    assert response.headers["content-type"] == "application/problem+json"


async def test_bad_records_go_to_the_dead_letter_topic_and_later_ones_still_arrive(
    threads: httpx.AsyncClient,
) -> None:
    practice = unique("pr-")
    not_json_key, invalid_key = unique("bad-"), unique("bad-")
    good = client_record(practice)
    async with TopicTail(topics.dlq(topics.PRACTICE_CLIENTS)) as dlq:
        await publish_json(topics.PRACTICE_CLIENTS, not_json_key, b"{not json")
        await publish_json(
            topics.PRACTICE_CLIENTS,
            invalid_key,
            {"practice_id": practice, "client_id": invalid_key},
        )
        await publish_json(topics.PRACTICE_CLIENTS, str(good["client_id"]), good)

        found = await eventually(lambda: search(threads, practice, str(good["last_name"])))
        # Every service consuming the topic dead-letters its own copy: wait for both keys.
        dead = [
            (await dlq.wait_for(lambda r, key=key: r.key.decode() == key))[0]  # type: ignore[misc]
            for key in (not_json_key, invalid_key)
        ]

    assert [c["client_id"] for c in found] == [good["client_id"]]
    errors = {r.key.decode(): header(r, "dlq_error_type") for r in dead}
    assert errors[invalid_key] == "ValidationError"
    assert errors[not_json_key] in {"JSONDecodeError", "ValidationError"}
    assert all(header(r, "dlq_topic") == topics.PRACTICE_CLIENTS for r in dead)
    assert body(next(r for r in dead if r.key.decode() == invalid_key))["client_id"] == invalid_key


async def provider_sees(
    threads: httpx.AsyncClient, chat: Conversation, last_name: str
) -> dict[str, object] | None:
    """The client as the provider's thread list shows them, once it shows `last_name`."""
    r = await threads.get("/v1/threads", headers=chat.provider)
    shown = [t["client"] for t in r.json()["items"] if t["thread_id"] == chat.thread_id]
    return shown[0] if shown and shown[0]["last_name"] == last_name else None


async def test_a_renamed_client_is_found_and_shown_by_the_new_name(
    threads: httpx.AsyncClient,
) -> None:
    chat = await conversation(threads)
    await box(threads, chat.provider, settle_on=[chat.thread_id])
    new_name = unique("Byron")
    record = client_record(chat.practice.practice_id, last_name=new_name)
    record["client_id"] = chat.client_id
    await publish_json(topics.PRACTICE_CLIENTS, chat.client_id, record)

    shown = await eventually(lambda: provider_sees(threads, chat, new_name))
    found = await search(threads, chat.practice.practice_id, new_name)

    assert shown["client_id"] == chat.client_id
    assert [c["client_id"] for c in found] == [chat.client_id]
    assert await search(threads, chat.practice.practice_id, "Lovelace") == []


async def test_a_thread_reaching_an_inbox_brings_the_other_sides_view_the_current_name(
    threads: httpx.AsyncClient, deps: Deps
) -> None:
    """A rename reaches the views its party's inbox lists; a thread opened a moment before
    it is listed later, and the inbox's consumer then shows the current name."""
    chat = await conversation(threads)
    await box(threads, chat.client, settle_on=[chat.thread_id])
    views, inboxes = deps.inboxes.views, deps.inboxes.inboxes
    shown_to_provider = view_id(chat.thread_id, chat.practice.provider_id)
    # The provider's view written with a name the client had before the rename, and the
    # client's inbox not listing the thread yet: what the rename could not reach.
    await views.collection.update_one(
        {"_id": shown_to_provider}, {"$set": {"other_last_name": "Before"}}
    )
    await inboxes.collection.update_one(
        {"_id": chat.client_id}, {"$unset": {f"entries.{chat.thread_id}": ""}}
    )
    inboxes.forget_written()
    arriving = await views.by_id(view_id(chat.thread_id, chat.client_id))
    assert arriving is not None

    await deps.inboxes.apply(events.inbox_events(arriving))

    now = await views.by_id(shown_to_provider)
    assert now is not None and now["other_last_name"] != "Before"
    assert await eventually(lambda: provider_sees(threads, chat, str(now["other_last_name"])))


async def test_a_client_moved_to_another_practice_leaves_the_first_ones_search(
    threads: httpx.AsyncClient,
) -> None:
    first, second = unique("pr-"), unique("pr-")
    record = client_record(first)
    await publish_json(topics.PRACTICE_CLIENTS, str(record["client_id"]), record)
    await eventually(lambda: search(threads, first, str(record["last_name"])))

    moved = {**record, "practice_id": second}
    await publish_json(topics.PRACTICE_CLIENTS, str(record["client_id"]), moved)
    found = await eventually(lambda: search(threads, second, str(record["last_name"])))

    assert [c["client_id"] for c in found] == [record["client_id"]]
    assert await search(threads, first, str(record["last_name"])) == []


async def test_search_pages_through_a_practice_in_name_order(threads: httpx.AsyncClient) -> None:
    practice = unique("pr-")
    family = unique("Page")
    records = [client_record(practice, first_name=f"N{i}", last_name=family) for i in range(5)]
    for record in records:
        await publish_json(topics.PRACTICE_CLIENTS, str(record["client_id"]), record)
    await eventually(lambda: _all_listed(threads, practice, family, 5))
    headers = auth("p1", "provider", practice)

    seen: list[str] = []
    cursor: str | None = None
    while True:
        params = {"q": family, "limit": "2", **({"cursor": cursor} if cursor else {})}
        page = (await threads.get("/v1/clients", params=params, headers=headers)).json()
        seen += [c["first_name"] for c in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break

    assert seen == [f"N{i}" for i in range(5)]


async def _all_listed(threads: httpx.AsyncClient, practice: str, q: str, count: int) -> bool:
    return len(await search(threads, practice, q)) == count
