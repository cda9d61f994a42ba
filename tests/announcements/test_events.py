"""AnnouncementPublished parts on messaging.announcements.v1: every recipient, no text."""

from typing import Any

import pytest

from services.announcements.domain import Draft
from services.announcements.events import published_events
from shared import topics
from tests.announcements.conftest import Service
from tests.announcements.factories import new_practice, send
from tests.support import TopicTail, body, header, unique

PER_PART = 10


@pytest.fixture(scope="module")
def settings_overrides() -> dict[str, Any]:
    """Small parts, so a few dozen clients span several; a short relay grace period."""
    return {
        "announcements_recipients_per_part": PER_PART,
        "announcements_outbox_grace_seconds": 0.5,
    }


def parts_of(records: list[Any]) -> dict[int, dict[str, Any]]:
    """The distinct parts among records (a republished part keeps its event id)."""
    return {body(r)["part"]: body(r) for r in {header(r, "ce_id"): r for r in records}.values()}


async def test_parts_carry_every_recipient_and_no_text(service: Service) -> None:
    practice = await new_practice(service, active=25)
    sentinel = "SENTINEL-" + unique()
    async with TopicTail(topics.MESSAGING_ANNOUNCEMENTS) as tail:
        created = await send(
            service.http,
            practice,
            {"all_clients": True},
            body=f"Pay by Friday {sentinel}",
            subject=f"Billing {sentinel}",
        )
        mine = await tail.wait_for(lambda r: r.key.decode() == created["announcement_id"], count=3)
        everything = await tail.settle(0.5)

    parts = parts_of(mine)
    assert sorted(parts) == [1, 2, 3]
    assert {p["parts"] for p in parts.values()} == {3}
    assert {p["recipient_count"] for p in parts.values()} == {25}
    assert sorted(i for p in parts.values() for i in p["recipient_ids"]) == sorted(practice.clients)
    assert all(len(p["recipient_ids"]) <= PER_PART for p in parts.values())
    assert {p["author_id"] for p in parts.values()} == {practice.provider_id}
    assert {header(r, "ce_type") for r in mine} == {"messaging.announcement.published"}
    assert all(sentinel.encode() not in r.value for r in everything)
    assert all("body" not in p and "subject" not in p for p in parts.values())


async def test_a_published_announcement_leaves_no_intent(service: Service) -> None:
    practice = await new_practice(service, active=1)

    created = await send(service.http, practice, {"all_clients": True})

    outbox = service.outbox
    await outbox.flush()
    assert await outbox.pending(id=created["announcement_id"]) == []


async def test_an_announcement_stored_before_a_crash_is_published_by_the_next_start(
    service: Service,
) -> None:
    practice = await new_practice(service, active=3)
    draft = Draft(
        practice_id=practice.practice_id,
        author_id=practice.provider_id,
        idempotency_key=unique("idem-"),
        body="Stored, then the process died before publishing.",
        subject=None,
        recipient_ids=tuple(practice.clients),
    )
    store, outbox = service.deps.sending.announcements, service.outbox
    announcement_id = unique("a-")
    async with TopicTail(topics.MESSAGING_ANNOUNCEMENTS) as tail:
        await outbox.intend("announcement", id=announcement_id)
        stored = await store.insert(announcement_id, draft)
        assert stored is not None
        assert await outbox.sweep(at_start=True) >= 1
        records = await tail.wait_for(lambda r: r.key.decode() == announcement_id)

    assert body(records[0])["recipient_ids"] == practice.clients
    assert header(records[0], "ce_id") == str(published_events(stored, PER_PART)[0].event_id)
    assert await outbox.pending(id=announcement_id) == []
