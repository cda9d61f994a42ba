"""Sending announcements: recipients resolved at creation, previewed, idempotent, validated."""

from typing import Any

import httpx

from tests.announcements.conftest import Service, raw_announcement
from tests.announcements.factories import (
    Practice,
    announcement,
    new_practice,
    preview,
    send,
    until_listed,
)
from tests.support import auth, unique


async def sent_list(http: httpx.AsyncClient, practice: Practice) -> list[dict[str, Any]]:
    response = await http.get("/v1/announcements", headers=practice.provider())
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


async def test_announcement_to_chosen_clients_counts_them(service: Service) -> None:
    practice = await new_practice(service, active=3)

    created = await send(service.http, practice, {"client_ids": practice.clients[:2]})

    assert created["recipient_count"] == 2
    assert created["announcement_id"]


async def test_repeated_client_ids_count_once(service: Service) -> None:
    practice = await new_practice(service, active=2)
    twice = [practice.clients[0], practice.clients[0], practice.clients[1]]

    created = await send(service.http, practice, {"client_ids": twice})

    assert created["recipient_count"] == 2


async def test_all_clients_reaches_only_active_clients(service: Service) -> None:
    practice = await new_practice(service, active=3, inactive=2)

    created = await send(service.http, practice, {"all_clients": True})

    assert created["recipient_count"] == 3


async def test_preview_counts_what_create_would(service: Service) -> None:
    practice = await new_practice(service, active=2, inactive=1)

    previewed = await preview(service.http, practice, {"all_clients": True})
    created = await send(service.http, practice, {"all_clients": True})

    assert previewed.status_code == 200, previewed.text
    assert (
        previewed.json()
        == {"recipient_count": created["recipient_count"]}
        == {"recipient_count": 2}
    )


async def test_retry_with_same_idempotency_key_returns_the_same_announcement(
    service: Service,
) -> None:
    practice = await new_practice(service, active=2)
    payload = announcement({"client_ids": practice.clients})

    first = await service.http.post("/v1/announcements", json=payload, headers=practice.provider())
    again = await service.http.post("/v1/announcements", json=payload, headers=practice.provider())

    assert first.status_code == again.status_code == 202
    assert again.json() == first.json()
    await until_listed(
        service.http, "/v1/announcements", practice.provider(), [first.json()["announcement_id"]]
    )
    assert len(await sent_list(service.http, practice)) == 1


async def test_unknown_client_is_rejected_and_nothing_is_stored(
    service: Service,
) -> None:
    practice = await new_practice(service, active=1)

    response = await service.http.post(
        "/v1/announcements",
        json=announcement({"client_ids": [practice.clients[0], unique("nobody-")]}),
        headers=practice.provider(),
    )

    assert response.status_code == 422
    assert response.json()["code"] == "unknown_recipients"
    assert await sent_list(service.http, practice) == []


async def test_another_practices_client_looks_unknown(service: Service) -> None:
    mine = await new_practice(service, active=1)
    theirs = await new_practice(service, active=1)

    response = await service.http.post(
        "/v1/announcements",
        json=announcement({"client_ids": [mine.clients[0], theirs.clients[0]]}),
        headers=mine.provider(),
    )
    previewed = await preview(service.http, mine, {"client_ids": theirs.clients})

    assert response.status_code == previewed.status_code == 422
    assert response.json()["code"] == previewed.json()["code"] == "unknown_recipients"
    assert theirs.clients[0] not in response.text
    assert theirs.practice_id not in response.text
    assert await sent_list(service.http, mine) == []


async def test_practice_without_active_clients_cannot_announce_to_all(
    service: Service,
) -> None:
    practice = await new_practice(service, active=0, inactive=1)

    response = await service.http.post(
        "/v1/announcements",
        json=announcement({"all_clients": True}),
        headers=practice.provider(),
    )

    assert response.status_code == 422
    assert response.json()["code"] == "no_recipients"


async def test_clients_cannot_send_announcements(service: Service) -> None:
    practice = await new_practice(service, active=1)

    response = await service.http.post(
        "/v1/announcements",
        json=announcement({"all_clients": True}),
        headers=practice.client(practice.clients[0]),
    )

    assert response.status_code == 403
    assert response.headers["content-type"] == "application/problem+json"


async def test_admins_cannot_send_announcements(service: Service) -> None:
    response = await service.http.post(
        "/v1/announcements",
        json=announcement({"all_clients": True}),
        headers=auth(unique("a-"), "admin", unique("pr-")),
    )

    assert response.status_code == 403


async def test_malformed_requests_are_rejected(service: Service) -> None:
    headers = Practice().provider()
    bad: list[dict[str, Any]] = [
        announcement({"client_ids": ["c"], "all_clients": True}),
        announcement({}),
        announcement({"all_clients": False}),
        announcement({"client_ids": ["c"], "extra": 1}),
        announcement({"all_clients": True}, body="   \n\t "),
        announcement({"all_clients": True}, body=""),
        announcement({"all_clients": True}, body="x" * 10_001),
        announcement({"all_clients": True}, subject="s" * 201),
        announcement({"all_clients": True}, idempotency_key=""),
        announcement({"all_clients": True}, idempotency_key="k" * 201),
        announcement({"all_clients": True}, unexpected="field"),
        {"body": "hi", "recipients": {"all_clients": True}},
    ]

    statuses = [
        (await service.http.post("/v1/announcements", json=b, headers=headers)).status_code
        for b in bad
    ]

    assert statuses == [422] * len(bad)


async def test_validation_errors_never_echo_the_body(service: Service) -> None:
    secret = "SENTINEL-" + unique() + " " + "x" * 10_000

    response = await service.http.post(
        "/v1/announcements",
        json=announcement({"all_clients": True}, body=secret),
        headers=Practice().provider(),
    )

    assert response.status_code == 422
    assert "SENTINEL" not in response.text


async def test_body_and_subject_are_encrypted_at_rest(service: Service) -> None:
    practice = await new_practice(service, active=1)
    body, subject = "BODY-" + unique(), "SUBJECT-" + unique()

    created = await send(service.http, practice, {"all_clients": True}, body=body, subject=subject)

    raw = await raw_announcement(service, created["announcement_id"])
    assert raw is not None
    assert body not in repr(raw) and subject not in repr(raw)
    assert set(raw["body"]) == {"kid", "key_nonce", "wrapped_key", "nonce", "ciphertext"}
