"""The recipient limit applies to chosen clients and to all clients alike."""

from typing import Any

import pytest

from tests.announcements.conftest import Service
from tests.announcements.factories import announcement, new_practice, preview, send


@pytest.fixture(scope="module")
def settings_overrides() -> dict[str, Any]:
    """A small limit keeps the test fast."""
    return {"announcements_max_recipients": 5}


async def test_more_chosen_clients_than_allowed_are_rejected(
    service: Service,
) -> None:
    practice = await new_practice(service, active=6)

    response = await service.http.post(
        "/v1/announcements",
        json=announcement({"client_ids": practice.clients}),
        headers=practice.provider(),
    )
    previewed = await preview(service.http, practice, {"client_ids": practice.clients})

    assert response.status_code == previewed.status_code == 422
    assert response.json()["code"] == previewed.json()["code"] == "too_many_recipients"


async def test_repeated_client_ids_count_against_the_limit_before_deduplication(
    service: Service,
) -> None:
    practice = await new_practice(service, active=1)
    repeated = {"client_ids": practice.clients * 6}

    response = await service.http.post(
        "/v1/announcements", json=announcement(repeated), headers=practice.provider()
    )
    previewed = await preview(service.http, practice, repeated)

    assert response.status_code == previewed.status_code == 422
    assert response.json()["code"] == previewed.json()["code"] == "too_many_recipients"


async def test_all_clients_of_a_too_large_practice_are_rejected(
    service: Service,
) -> None:
    practice = await new_practice(service, active=6)

    response = await service.http.post(
        "/v1/announcements", json=announcement({"all_clients": True}), headers=practice.provider()
    )

    assert response.status_code == 422
    assert response.json()["code"] == "too_many_recipients"


async def test_exactly_the_limit_is_accepted(service: Service) -> None:
    practice = await new_practice(service, active=5, inactive=2)

    created = await send(service.http, practice, {"all_clients": True})

    assert created["recipient_count"] == 5


async def test_empty_client_list_is_rejected(service: Service) -> None:
    practice = await new_practice(service, active=1)

    response = await preview(service.http, practice, {"client_ids": []})

    assert response.status_code == 422
    assert response.json()["code"] == "no_recipients"
