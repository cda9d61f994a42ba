"""An author's announcements with their stats (the SentAnnouncements use case)."""

import pytest

from services.announcements.domain import AnnouncementNotFound, Outcome, Stats
from tests.unit.announcements.world import AUTHOR, PRACTICE, World, new_announcement


def outcome(announcement_id: str, recipient: str, channel: str, status: str, at: int) -> Outcome:
    return Outcome(announcement_id, PRACTICE, recipient, channel, status, 0, at)


async def test_an_announcement_carries_its_kept_counts_and_readers() -> None:
    world = World()
    a = (await world.sending.send(new_announcement())).announcement_id
    await world.counts.apply(
        [
            outcome(a, "a", "inbox", "delivered", 1),
            outcome(a, "b", "inbox", "delivered", 2),
            outcome(a, "b", "push", "sent", 3),
            outcome(a, "c", "email", "failed", 4),
        ]
    )
    await world.inbox.mark_read(a, PRACTICE, "a")

    item = await world.sent.get(a, PRACTICE, AUTHOR)

    assert item.stats == Stats(recipients=3, delivered=2, notified=1, failed=1, read=1)


async def test_another_authors_announcement_does_not_exist_for_them() -> None:
    world = World()
    a = (await world.sending.send(new_announcement())).announcement_id

    with pytest.raises(AnnouncementNotFound):
        await world.sent.get(a, PRACTICE, "p-other")
    with pytest.raises(AnnouncementNotFound):
        await world.sent.get(a, "pr-other", AUTHOR)


async def test_the_list_holds_the_authors_own_newest_first_with_stats() -> None:
    world = World()
    older = (await world.sending.send(new_announcement())).announcement_id
    await world.sending.send(new_announcement(author_id="p-other"))
    newer = (await world.sending.send(new_announcement())).announcement_id

    page = await world.sent.page(PRACTICE, AUTHOR, after=None, limit=1)
    rest = await world.sent.page(PRACTICE, AUTHOR, after=page.next_after, limit=1)

    assert [i.announcement.announcement_id for i in page.items] == [newer]
    assert [i.announcement.announcement_id for i in rest.items] == [older]
    assert rest.next_after is None
    assert page.items[0].stats == Stats(recipients=3, delivered=0, notified=0, failed=0, read=0)
