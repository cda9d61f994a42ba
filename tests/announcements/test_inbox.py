"""The client inbox: announcements addressed to the caller, read marks and read counts."""

import asyncio
from typing import Any

from shared.mongo import create_mongo_client
from shared.settings import MongoSettings
from tests.announcements.conftest import Service
from tests.announcements.factories import Practice, new_practice, send, until_listed
from tests.support import auth, infra_env, unique


async def inbox(service: Service, practice: Practice, client_id: str) -> list[dict[str, Any]]:
    response = await service.http.get("/v1/me/announcements", headers=practice.client(client_id))
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


async def read_count(service: Service, practice: Practice, announcement_id: str) -> int:
    response = await service.http.get(
        f"/v1/announcements/{announcement_id}", headers=practice.provider()
    )
    assert response.status_code == 200, response.text
    count: int = response.json()["stats"]["read"]
    return count


async def until_in_inbox(service: Service, practice: Practice, client_id: str, *ids: str) -> None:
    await until_listed(service.http, "/v1/me/announcements", practice.client(client_id), ids)


async def test_recipient_sees_the_announcement_in_their_inbox(service: Service) -> None:
    practice = await new_practice(service, active=2)
    recipient = practice.clients[0]

    created = await send(
        service.http, practice, {"client_ids": [recipient]}, body="Hello all", subject="News"
    )
    await until_in_inbox(service, practice, recipient, created["announcement_id"])

    items = await inbox(service, practice, recipient)
    assert len(items) == 1
    assert items[0]["announcement_id"] == created["announcement_id"]
    assert items[0]["body"] == "Hello all" and items[0]["subject"] == "News"
    assert items[0]["read"] is False
    assert items[0]["created_at"]


async def test_clients_not_addressed_do_not_see_it(service: Service) -> None:
    practice = await new_practice(service, active=2)
    recipient, bystander = practice.clients
    created = await send(service.http, practice, {"client_ids": [recipient]})
    await until_in_inbox(service, practice, recipient, created["announcement_id"])

    items = await inbox(service, practice, bystander)
    direct = await service.http.get(
        f"/v1/me/announcements/{created['announcement_id']}", headers=practice.client(bystander)
    )

    assert items == []
    assert direct.status_code == 404


async def test_same_client_id_in_another_practice_sees_nothing(service: Service) -> None:
    practice = await new_practice(service, active=1)
    created = await send(service.http, practice, {"all_clients": True})
    await until_in_inbox(service, practice, practice.clients[0], created["announcement_id"])

    response = await service.http.get(
        "/v1/me/announcements", headers=auth(practice.clients[0], "client", unique("pr-"))
    )

    assert response.status_code == 200
    assert response.json()["items"] == []


async def test_inbox_is_newest_first_and_paginated(service: Service) -> None:
    practice = await new_practice(service, active=1)
    sent = [
        (await send(service.http, practice, {"all_clients": True}, body=f"n{i}"))["announcement_id"]
        for i in range(3)
    ]
    headers = practice.client(practice.clients[0])
    await until_in_inbox(service, practice, practice.clients[0], *sent)

    first = (await service.http.get("/v1/me/announcements?limit=2", headers=headers)).json()
    second = (
        await service.http.get(
            "/v1/me/announcements",
            params={"limit": 2, "cursor": first["next_cursor"]},
            headers=headers,
        )
    ).json()

    got = [i["announcement_id"] for i in first["items"] + second["items"]]
    assert got == list(reversed(sent))
    assert second["next_cursor"] is None


async def test_marking_read_shows_in_inbox_and_in_the_authors_read_count(
    service: Service,
) -> None:
    practice = await new_practice(service, active=3)
    reader = practice.clients[0]
    created = await send(service.http, practice, {"all_clients": True})
    path = f"/v1/me/announcements/{created['announcement_id']}/read"
    for client_id in (reader, practice.clients[1]):
        await until_in_inbox(service, practice, client_id, created["announcement_id"])

    first = await service.http.post(path, headers=practice.client(reader))
    again = await service.http.post(path, headers=practice.client(reader))

    assert first.status_code == again.status_code == 204
    assert (await inbox(service, practice, reader))[0]["read"] is True
    assert (await inbox(service, practice, practice.clients[1]))[0]["read"] is False
    assert await read_count(service, practice, created["announcement_id"]) == 1


async def test_marking_read_an_announcement_not_addressed_to_you_is_404(
    service: Service,
) -> None:
    practice = await new_practice(service, active=2)
    created = await send(service.http, practice, {"client_ids": [practice.clients[0]]})

    response = await service.http.post(
        f"/v1/me/announcements/{created['announcement_id']}/read",
        headers=practice.client(practice.clients[1]),
    )

    assert response.status_code == 404
    assert await read_count(service, practice, created["announcement_id"]) == 0


async def test_providers_have_no_inbox(service: Service) -> None:
    response = await service.http.get("/v1/me/announcements", headers=Practice().provider())

    assert response.status_code == 403


async def test_concurrent_marks_count_each_reader_once(service: Service) -> None:
    practice = await new_practice(service, active=6)
    created = await send(service.http, practice, {"all_clients": True})
    path = f"/v1/me/announcements/{created['announcement_id']}/read"

    responses = await asyncio.gather(
        *(
            service.http.post(path, headers=practice.client(c))
            for c in practice.clients + practice.clients[:3]
        )
    )

    assert {r.status_code for r in responses} == {204}
    assert await read_count(service, practice, created["announcement_id"]) == 6


async def test_a_mark_whose_writer_stopped_before_counting_is_counted_by_the_recovery(
    service: Service,
) -> None:
    practice = await new_practice(service, active=2)
    created = await send(service.http, practice, {"all_clients": True})
    a, reader = created["announcement_id"], practice.clients[0]
    # What a writer leaves when it stops between the mark and its slot: intent and mark.
    outbox = service.outbox
    intent = await outbox.intend("announcement_read", announcement_id=a, client_id=reader)
    mongo = create_mongo_client(MongoSettings(mongodb_url=infra_env()["mongodb_url"]))
    try:
        await mongo[service.database]["read_marks"].insert_one(
            {"_id": f"{a}:{reader}", "announcement_id": a, "client_id": reader, "claim_from": 0}
        )
    finally:
        await mongo.close()
    assert await read_count(service, practice, a) == 0

    await outbox.recover(intent)
    await outbox.recover(intent)  # recovered twice: still one slot

    assert await read_count(service, practice, a) == 1
    again = await service.http.post(
        f"/v1/me/announcements/{a}/read", headers=practice.client(reader)
    )
    assert again.status_code == 204
    assert await read_count(service, practice, a) == 1
