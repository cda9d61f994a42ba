"""Authors see their own announcements; nobody else does (404, never 403)."""

from typing import Any

from tests.announcements.conftest import Service
from tests.announcements.factories import new_practice, send, until_listed
from tests.support import auth, unique


async def test_author_reads_their_announcement_with_body(service: Service) -> None:
    practice = await new_practice(service, active=1)
    created = await send(
        service.http, practice, {"all_clients": True}, body="Closed Friday", subject="Hours"
    )

    response = await service.http.get(
        f"/v1/announcements/{created['announcement_id']}", headers=practice.provider()
    )

    assert response.status_code == 200
    found = response.json()
    assert found["body"] == "Closed Friday" and found["subject"] == "Hours"
    assert found["recipient_count"] == 1 and found["stats"]["recipients"] == 1


async def test_another_provider_of_the_practice_gets_404(service: Service) -> None:
    practice = await new_practice(service, active=1)
    created = await send(service.http, practice, {"all_clients": True})

    response = await service.http.get(
        f"/v1/announcements/{created['announcement_id']}",
        headers=practice.provider(unique("p-")),
    )

    assert response.status_code == 404
    assert response.json()["code"] == "not_found"


async def test_same_provider_id_in_another_practice_gets_404(service: Service) -> None:
    practice = await new_practice(service, active=1)
    created = await send(service.http, practice, {"all_clients": True})

    response = await service.http.get(
        f"/v1/announcements/{created['announcement_id']}",
        headers=auth(practice.provider_id, "provider", unique("pr-")),
    )

    assert response.status_code == 404


async def test_recipient_cannot_read_the_authors_view(service: Service) -> None:
    practice = await new_practice(service, active=1)
    created = await send(service.http, practice, {"all_clients": True})

    response = await service.http.get(
        f"/v1/announcements/{created['announcement_id']}",
        headers=practice.client(practice.clients[0]),
    )

    assert response.status_code == 404


async def test_list_shows_only_own_announcements_newest_first(service: Service) -> None:
    practice = await new_practice(service, active=1)
    colleague = practice.provider(unique("p-"))
    mine = [
        (await send(service.http, practice, {"all_clients": True}, subject=f"s{i}"))[
            "announcement_id"
        ]
        for i in range(3)
    ]
    theirs = await service.http.post(
        "/v1/announcements",
        json={
            "body": "theirs",
            "recipients": {"all_clients": True},
            "idempotency_key": unique(),
        },
        headers=colleague,
    )
    await until_listed(service.http, "/v1/announcements", practice.provider(), mine)
    await until_listed(
        service.http, "/v1/announcements", colleague, [theirs.json()["announcement_id"]]
    )

    first = (
        await service.http.get("/v1/announcements?limit=2", headers=practice.provider())
    ).json()
    second = (
        await service.http.get(
            "/v1/announcements",
            params={"limit": 2, "cursor": first["next_cursor"]},
            headers=practice.provider(),
        )
    ).json()

    items: list[dict[str, Any]] = first["items"] + second["items"]
    assert [i["announcement_id"] for i in items] == list(reversed(mine))
    assert [i["subject"] for i in items] == ["s2", "s1", "s0"]
    assert "body" not in items[0]
    assert second["next_cursor"] is None


async def test_forged_cursor_is_rejected(service: Service) -> None:
    response = await service.http.get(
        "/v1/announcements", params={"cursor": "%%%"}, headers=auth("p", "provider", "pr")
    )

    assert response.status_code == 422
