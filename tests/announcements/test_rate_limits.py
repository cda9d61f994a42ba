"""Announcements per practice and hour (contract v1.1), held in the database."""

from typing import Any

import pytest

from services.announcements.app import create_app
from tests.announcements.conftest import Service, announcements_settings
from tests.announcements.factories import (
    Practice,
    announcement,
    new_practice,
    send,
    until_listed,
)
from tests.support import clear_of_slot_boundary, running, unique

PER_HOUR = 2


@pytest.fixture(scope="module")
def settings_overrides() -> dict[str, Any]:
    """Two an hour keeps the test short."""
    return {"rate_limit_announcements_per_hour": PER_HOUR}


async def _sent_by(service: Service, practice: Practice) -> list[str]:
    listed = await service.http.get("/v1/announcements", headers=practice.provider())
    return [a["announcement_id"] for a in listed.json()["items"]]


async def test_an_announcement_over_the_hourly_limit_answers_429_and_stores_nothing(
    service: Service,
) -> None:
    practice = await new_practice(service, active=1)
    await clear_of_slot_boundary(3600 / PER_HOUR)
    first = await send(service.http, practice, {"all_clients": True}, idempotency_key="one")
    second = await send(service.http, practice, {"all_clients": True})

    refused = await service.http.post(
        "/v1/announcements",
        json=announcement({"all_clients": True}, body="one too many"),
        headers=practice.provider(),
    )
    retried = await service.http.post(
        "/v1/announcements",
        json=announcement({"all_clients": True}, idempotency_key="one"),
        headers=practice.provider(),
    )

    assert refused.status_code == 429
    assert refused.json()["code"] == "rate_limited"
    assert 1 <= int(refused.headers["Retry-After"]) <= 3600 / PER_HOUR
    accepted = [first["announcement_id"], second["announcement_id"]]
    await until_listed(service.http, "/v1/announcements", practice.provider(), accepted)
    assert len(await _sent_by(service, practice)) == PER_HOUR
    # A retry of an accepted announcement is answered, not counted.
    assert retried.status_code == 202
    assert retried.json()["announcement_id"] == first["announcement_id"]


async def test_the_limit_is_per_practice_whichever_provider_sends(service: Service) -> None:
    busy, other = await new_practice(service, active=1), await new_practice(service, active=1)
    await clear_of_slot_boundary(3600 / PER_HOUR)
    for _ in range(PER_HOUR):
        await send(service.http, busy, {"all_clients": True})

    colleague = await service.http.post(
        "/v1/announcements",
        json=announcement({"all_clients": True}),
        headers=busy.provider(unique("p-")),
    )
    elsewhere = await send(service.http, other, {"all_clients": True})

    assert colleague.status_code == 429
    assert elsewhere["recipient_count"] == 1


async def test_a_limit_of_zero_turns_the_announcement_limit_off() -> None:
    app = create_app(announcements_settings(rate_limit_announcements_per_hour=0))
    async with running(app) as http:
        practice = await new_practice(Service(http, app.state.deps, "", app.state.outbox), active=1)
        # One more than the default of 20 an hour.
        accepted = [await send(http, practice, {"all_clients": True}) for _ in range(21)]

    assert len({a["announcement_id"] for a in accepted}) == 21
