"""Stats from the notify service's delivery records: exact, idempotent, per recipient."""

import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from shared import topics
from tests.announcements.conftest import Service
from tests.announcements.factories import Practice, new_practice, publish_many, send
from tests.support import eventually


def delivery(
    practice: Practice,
    announcement_id: str,
    recipient: str,
    channel: str,
    status: str,
    source: str = "announcement",
) -> tuple[str, dict[str, Any]]:
    """A DeliveryRecorded record (key, value) as the notify service publishes it."""
    return announcement_id, {
        "event_id": str(uuid.uuid4()),
        "occurred_at": "2025-01-01T00:00:00Z",
        "schema_version": 1,
        "source": source,
        "source_id": announcement_id,
        "practice_id": practice.practice_id,
        "recipient_id": recipient,
        "channel": channel,
        "status": status,
    }


async def stats(service: Service, practice: Practice, announcement_id: str) -> dict[str, int]:
    response = await service.http.get(
        f"/v1/announcements/{announcement_id}", headers=practice.provider()
    )
    assert response.status_code == 200, response.text
    found: dict[str, int] = response.json()["stats"]
    return found


def counted(
    service: Service, practice: Practice, announcement_id: str, expected: dict[str, int]
) -> Callable[[], Awaitable[dict[str, int] | None]]:
    """A check for `eventually`: the stats once they are as expected.

    Other notify processes on the shared broker may record the same recipients' inbox
    deliveries first, so "delivered" alone does not tell that every record was counted.
    """

    async def check() -> dict[str, int] | None:
        found = await stats(service, practice, announcement_id)
        return found if found == expected else None

    return check


async def test_new_announcement_has_only_recipients(service: Service) -> None:
    practice = await new_practice(service, active=2)
    created = await send(service.http, practice, {"all_clients": True})

    assert await stats(service, practice, created["announcement_id"]) == {
        "recipients": 2,
        "delivered": 0,
        "notified": 0,
        "failed": 0,
        "read": 0,
    }


async def test_delivery_records_count_distinct_recipients_exactly(service: Service) -> None:
    practice = await new_practice(service, active=4)
    created = await send(service.http, practice, {"all_clients": True})
    a = created["announcement_id"]
    c0, c1, c2, c3 = practice.clients
    ok = delivery(practice, a, c0, "inbox", "delivered")
    records = [
        ok,
        ok,  # redelivered as is
        delivery(practice, a, c0, "inbox", "delivered"),  # same outcome, new event id
        delivery(practice, a, c0, "push", "sent"),
        delivery(practice, a, c0, "email", "failed"),  # notified by push: not failed
        delivery(practice, a, c0, "push", "failed"),  # a later failure never un-notifies
        delivery(practice, a, c1, "inbox", "delivered"),
        delivery(practice, a, c1, "push", "failed"),
        delivery(practice, a, c1, "push", "sent"),  # failed → sent
        delivery(practice, a, c2, "inbox", "delivered"),
        delivery(practice, a, c2, "push", "failed"),
        delivery(practice, a, c2, "push", "failed"),
        delivery(practice, a, c2, "email", "skipped"),
        delivery(practice, a, c3, "push", "skipped"),
        delivery(practice, a, c3, "email", "sent", source="direct_message"),  # not ours
        delivery(practice, a, c3, "inbox", "delivered"),  # last: all before it are counted
    ]

    await publish_many(topics.MESSAGING_DELIVERIES, records)
    expected = {"recipients": 4, "delivered": 4, "notified": 2, "failed": 1, "read": 0}

    assert await eventually(counted(service, practice, a, expected), timeout=30) == expected


async def test_list_items_carry_stats(service: Service) -> None:
    practice = await new_practice(service, active=1)
    created = await send(service.http, practice, {"all_clients": True})
    a = created["announcement_id"]
    await publish_many(
        topics.MESSAGING_DELIVERIES,
        [
            delivery(practice, a, practice.clients[0], "push", "sent"),
            delivery(practice, a, practice.clients[0], "inbox", "delivered"),
        ],
    )

    expected = {"recipients": 1, "delivered": 1, "notified": 1, "failed": 0, "read": 0}

    async def listed() -> dict[str, Any] | None:
        response = await service.http.get("/v1/announcements", headers=practice.provider())
        items: list[dict[str, Any]] = response.json()["items"]
        return items[0] if items and items[0]["stats"] == expected else None

    item = await eventually(listed, timeout=30)
    assert item["announcement_id"] == a
    assert item["recipient_count"] == 1


async def test_stats_stay_exact_when_outcomes_arrive_twice_and_out_of_order(
    service: Service,
) -> None:
    practice = await new_practice(service, active=4)
    created = await send(service.http, practice, {"all_clients": True})
    a = created["announcement_id"]
    c0, c1, c2, last = practice.clients
    records = [
        delivery(practice, a, c0, "inbox", "delivered"),
        delivery(practice, a, c0, "push", "failed"),
        delivery(practice, a, c0, "email", "sent"),
        delivery(practice, a, c1, "inbox", "delivered"),
        delivery(practice, a, c1, "push", "sent"),
        delivery(practice, a, c1, "push", "failed"),
        delivery(practice, a, c2, "inbox", "delivered"),
        delivery(practice, a, c2, "push", "failed"),
        delivery(practice, a, c2, "email", "failed"),
        delivery(practice, a, last, "inbox", "delivered"),
    ]

    await publish_many(topics.MESSAGING_DELIVERIES, list(reversed(records)))
    await publish_many(topics.MESSAGING_DELIVERIES, records)
    # One partition per announcement: once this one counts, every record before it did.
    await publish_many(topics.MESSAGING_DELIVERIES, [delivery(practice, a, last, "push", "sent")])
    expected = {"recipients": 4, "delivered": 4, "notified": 3, "failed": 1, "read": 0}

    assert await eventually(counted(service, practice, a, expected), timeout=30) == expected
