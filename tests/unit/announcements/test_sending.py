"""Sending an announcement (the Sending use case) on in-memory stores."""

from dataclasses import dataclass, field
from typing import Any

import pytest

from services.announcements.domain import (
    NoRecipients,
    Receipt,
    Recipients,
    TooManyRecipients,
    UnknownRecipients,
)
from services.announcements.handlers.sending import PUBLISH_INTENT
from shared.events.announcements import AnnouncementPublished
from shared.outbox import Document
from shared.ratelimit import RateLimited
from tests.unit.announcements.fakes import FakeAnnouncements, FakeOutbox
from tests.unit.announcements.world import PRACTICE, World, new_announcement


def parts(world: World) -> list[AnnouncementPublished]:
    published = world.outbox.published
    assert all(isinstance(e, AnnouncementPublished) for e in published)
    return [e for e in published if isinstance(e, AnnouncementPublished)]


async def test_a_sent_announcement_is_stored_and_published_in_parts() -> None:
    world = World(per_part=2)

    receipt = await world.sending.send(new_announcement())

    assert receipt.recipient_count == 3
    assert await world.announcements.publication(receipt.announcement_id) is not None
    assert [(e.part, e.parts, e.recipient_ids) for e in parts(world)] == [
        (1, 2, ["a", "b"]),
        (2, 2, ["c"]),
    ]
    assert {e.announcement_id for e in parts(world)} == {receipt.announcement_id}
    assert world.outbox.open == {}


@dataclass
class WatchingOutbox(FakeOutbox):
    """Notes, at each intent, whether the announcement was stored already."""

    announcements: FakeAnnouncements = field(default_factory=FakeAnnouncements)
    stored_at_intent: list[bool] = field(default_factory=list)

    async def intend(self, kind: str, **ref: Any) -> Document:
        self.stored_at_intent.append(ref.get("id") in self.announcements.stored)
        return await super().intend(kind, **ref)


async def test_the_intent_is_recorded_before_the_announcement_is_stored() -> None:
    announcements = FakeAnnouncements()
    outbox = WatchingOutbox(announcements=announcements)
    world = World(announcements=announcements, outbox=outbox)

    receipt = await world.sending.send(new_announcement())

    assert outbox.stored_at_intent == [False]
    assert outbox.intended[0]["kind"] == PUBLISH_INTENT
    assert outbox.intended[0]["ref"] == {"id": receipt.announcement_id}
    assert receipt.announcement_id in announcements.stored


async def test_a_repeated_idempotency_key_returns_the_first_without_spending() -> None:
    world = World()
    first = await world.sending.send(new_announcement(key="k1"))
    published = len(world.outbox.published)

    again = await world.sending.send(new_announcement(Recipients(client_ids=("a",)), key="k1"))

    assert again == first
    assert world.limit.spent == {PRACTICE: 1}
    assert len(world.outbox.published) == published
    assert len(world.announcements.stored) == 1


@dataclass
class RacingAnnouncements(FakeAnnouncements):
    """Another request stores the same key between our lookup and our insert."""

    looked: bool = False

    async def find_receipt(self, author_id: str, idempotency_key: str) -> Receipt | None:
        if not self.looked:
            self.looked = True
            return None
        return await super().find_receipt(author_id, idempotency_key)


async def test_a_key_taken_meanwhile_answers_the_first_and_drops_its_intent() -> None:
    racing = RacingAnnouncements()
    first = await World(announcements=racing).sending.send(new_announcement(key="k1"))
    racing.looked = False
    world = World(announcements=racing)

    again = await world.sending.send(new_announcement(key="k1"))

    assert again == first
    assert len(racing.stored) == 1
    assert len(world.outbox.intended) == 1
    assert world.outbox.open == {} and world.outbox.published == []


async def test_an_announcement_over_the_limit_stores_and_intends_nothing() -> None:
    world = World()
    world.limit.allowed = 1
    await world.sending.send(new_announcement())

    with pytest.raises(RateLimited):
        await world.sending.send(new_announcement())

    assert len(world.announcements.stored) == 1
    assert len(world.outbox.intended) == 1


async def test_refused_recipients_spend_nothing_and_intend_nothing() -> None:
    world = World()

    with pytest.raises(UnknownRecipients):
        await world.sending.send(new_announcement(Recipients(client_ids=("a", "other"))))

    assert world.limit.spent == {} and world.outbox.intended == []
    assert world.announcements.stored == {}


async def test_the_recovery_republishes_the_same_events() -> None:
    world = World(per_part=2)
    receipt = await world.sending.send(new_announcement())
    sent = [e.event_id for e in world.outbox.published]

    recovered = await world.sending.recover({"id": receipt.announcement_id})

    assert [e.event_id for e in recovered] == sent


async def test_the_recovery_of_an_announcement_never_stored_publishes_nothing() -> None:
    assert await World().sending.recover({"id": "never-stored"}) == []


async def test_a_preview_counts_the_recipients_and_stores_nothing() -> None:
    world = World()

    count = await world.sending.preview(PRACTICE, Recipients(client_ids=("b", "a", "b")))

    assert count == 2
    assert world.announcements.stored == {} and world.outbox.intended == []


async def test_all_clients_are_the_active_ones_in_id_order() -> None:
    assert await World().sending.resolve(PRACTICE, Recipients(all_clients=True)) == (
        "a",
        "b",
        "c",
    )


async def test_chosen_clients_are_deduplicated_in_order() -> None:
    ids = await World().sending.resolve(PRACTICE, Recipients(client_ids=("b", "a", "b")))

    assert ids == ("b", "a")


async def test_an_inactive_client_may_be_chosen() -> None:
    ids = await World().sending.resolve(PRACTICE, Recipients(client_ids=("gone",)))

    assert ids == ("gone",)


async def test_another_practices_client_is_unknown() -> None:
    with pytest.raises(UnknownRecipients):
        await World().sending.resolve(PRACTICE, Recipients(client_ids=("a", "other")))


async def test_no_recipients_is_refused() -> None:
    with pytest.raises(NoRecipients):
        await World().sending.resolve(PRACTICE, Recipients(client_ids=()))


async def test_a_practice_without_active_clients_has_no_recipients() -> None:
    with pytest.raises(NoRecipients):
        await World().sending.resolve("pr-empty", Recipients(all_clients=True))


async def test_more_than_the_maximum_is_refused_before_any_lookup() -> None:
    world = World(max_recipients=2)

    with pytest.raises(TooManyRecipients):
        await world.sending.resolve(PRACTICE, Recipients(client_ids=("a", "a", "b")))

    assert world.clients.lookups == 0


async def test_all_clients_above_the_maximum_is_refused_before_listing_them() -> None:
    world = World(max_recipients=1)

    with pytest.raises(TooManyRecipients):
        await world.sending.resolve(PRACTICE, Recipients(all_clients=True))

    assert world.clients.lookups == 1  # the count only
