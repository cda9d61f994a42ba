"""A client's announcements and read marks (the Inbox use case) on in-memory stores."""

import pytest

from services.announcements.domain import AnnouncementNotFound, Recipients
from services.announcements.handlers.inbox import READ_INTENT
from tests.unit.announcements.world import PRACTICE, World, new_announcement


async def sent(world: World, *client_ids: str) -> str:
    receipt = await world.sending.send(new_announcement(Recipients(client_ids=client_ids)))
    return receipt.announcement_id


async def test_the_inbox_lists_what_is_addressed_to_the_client_newest_first() -> None:
    world = World()
    first, _, third = await sent(world, "a"), await sent(world, "b"), await sent(world, "a", "b")

    page = await world.inbox.page(PRACTICE, "a", after=None, limit=10)

    assert [i.announcement.announcement_id for i in page.items] == [third, first]
    assert page.next_after is None


async def test_the_inbox_pages_after_the_last_item_it_answered() -> None:
    world = World()
    older, newer = await sent(world, "a"), await sent(world, "a")

    first = await world.inbox.page(PRACTICE, "a", after=None, limit=1)
    second = await world.inbox.page(PRACTICE, "a", after=first.next_after, limit=1)

    assert [i.announcement.announcement_id for i in first.items] == [newer]
    assert first.next_after == first.items[0].announcement.sort_key
    assert [i.announcement.announcement_id for i in second.items] == [older]
    assert second.next_after is None


async def test_the_inbox_shows_what_the_client_read() -> None:
    world = World()
    unread, read = await sent(world, "a"), await sent(world, "a")
    await world.inbox.mark_read(read, PRACTICE, "a")

    page = await world.inbox.page(PRACTICE, "a", after=None, limit=10)

    assert {i.announcement.announcement_id: i.read for i in page.items} == {
        read: True,
        unread: False,
    }


async def test_an_announcement_not_addressed_to_the_client_does_not_exist_for_them() -> None:
    world = World()
    a = await sent(world, "a")

    with pytest.raises(AnnouncementNotFound):
        await world.inbox.get(a, PRACTICE, "b")


async def test_one_announcement_carries_its_text_and_read_state() -> None:
    world = World()
    a = await sent(world, "a")
    await world.inbox.mark_read(a, PRACTICE, "a")

    item = await world.inbox.get(a, PRACTICE, "a")

    assert item.read and item.announcement.body == "Closed on Friday."


async def test_marking_what_is_not_addressed_to_the_client_is_refused_without_an_intent() -> None:
    world = World()
    a = await sent(world, "a")
    intents = len(world.outbox.intended)

    with pytest.raises(AnnouncementNotFound):
        await world.inbox.mark_read(a, PRACTICE, "b")

    assert len(world.outbox.intended) == intents
    assert await world.reads.count(a) == 0


async def test_marking_twice_counts_the_reader_once_and_closes_both_intents() -> None:
    world = World()
    a = await sent(world, "a", "b")

    await world.inbox.mark_read(a, PRACTICE, "a")
    await world.inbox.mark_read(a, PRACTICE, "a")
    await world.inbox.mark_read(a, PRACTICE, "b")

    assert await world.reads.count(a) == 2
    reads = [i for i in world.outbox.intended if i["kind"] == READ_INTENT]
    assert [i["ref"] for i in reads] == [
        {"announcement_id": a, "client_id": "a"},
        {"announcement_id": a, "client_id": "a"},
        {"announcement_id": a, "client_id": "b"},
    ]
    assert world.outbox.open == {}


async def test_the_recovery_counts_a_mark_left_without_its_slot_once() -> None:
    world = World()
    a = await sent(world, "a")
    # What a writer leaves when it stops between the mark and its slot.
    await world.reads.insert_mark(a, "a", 0)
    ref = {"announcement_id": a, "client_id": "a"}

    await world.inbox.recover_mark(ref)
    await world.inbox.recover_mark(ref)

    assert await world.reads.count(a) == 1
    await world.inbox.mark_read(a, PRACTICE, "a")
    assert await world.reads.count(a) == 1


async def test_the_recovery_of_a_mark_never_stored_counts_nothing() -> None:
    world = World()
    a = await sent(world, "a")

    assert await world.inbox.recover_mark({"announcement_id": a, "client_id": "a"}) == []
    assert await world.reads.count(a) == 0
