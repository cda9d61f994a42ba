"""Unit tests of how an announcement document becomes its published parts (no infrastructure)."""

from datetime import UTC, datetime

from services.announcements.domain import split_parts
from services.announcements.store import make_derive
from shared.events.announcements import RECIPIENTS_PER_PART, AnnouncementPublished


def document(recipients: int) -> dict[str, object]:
    """An announcement document as the store writes it."""
    ids = [f"c{i:05d}" for i in range(recipients)]
    return {
        "_id": "a1",
        "rev": "r1",
        "practice_id": "pr1",
        "author_id": "p1",
        "recipient_ids": ids,
        "recipient_count": len(ids),
        "created_at": datetime(2025, 1, 2, 3, 4, 5, tzinfo=UTC),
        "body": {"sealed": "never read by derive"},
    }


async def test_2500_recipients_make_three_parts_of_at_most_1000() -> None:
    events = await make_derive(RECIPIENTS_PER_PART)(document(2500))

    assert [e.part for e in events] == [1, 2, 3]
    assert all(isinstance(e, AnnouncementPublished) and e.parts == 3 for e in events)
    assert [len(e.recipient_ids) for e in events] == [1000, 1000, 500]  # type: ignore[attr-defined]
    assert all(e.recipient_count == 2500 for e in events)  # type: ignore[attr-defined]


async def test_event_ids_are_stable_per_revision_and_distinct_per_part() -> None:
    derive = make_derive(RECIPIENTS_PER_PART)

    first, again = await derive(document(1500)), await derive(document(1500))
    changed = await derive({**document(1500), "rev": "r2"})

    assert [e.event_id for e in first] == [e.event_id for e in again]
    assert len({e.event_id for e in first}) == 2
    assert not {e.event_id for e in first} & {e.event_id for e in changed}


async def test_events_carry_no_text() -> None:
    events = await make_derive(RECIPIENTS_PER_PART)(document(3))

    assert "body" not in events[0].model_dump() and "subject" not in events[0].model_dump()


def test_split_parts_keeps_order_and_sizes() -> None:
    assert split_parts(["a", "b", "c"], 2) == [["a", "b"], ["c"]]
    assert split_parts(["a", "b"], 2) == [["a", "b"]]
