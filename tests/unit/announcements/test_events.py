"""How a stored announcement becomes its published parts (services/announcements/events.py)."""

from datetime import UTC, datetime

from services.announcements.domain import Publication
from services.announcements.events import published_events
from shared.events.announcements import RECIPIENTS_PER_PART, AnnouncementPublished


def publication(recipients: int, revision: str = "r1") -> Publication:
    return Publication(
        announcement_id="a1",
        practice_id="pr1",
        author_id="p1",
        recipient_ids=tuple(f"c{i:05d}" for i in range(recipients)),
        created_at=datetime(2025, 1, 2, 3, 4, 5, tzinfo=UTC),
        revision=revision,
    )


def parts(found: list[object]) -> list[AnnouncementPublished]:
    assert all(isinstance(e, AnnouncementPublished) for e in found)
    return [e for e in found if isinstance(e, AnnouncementPublished)]


def test_2500_recipients_make_three_parts_of_at_most_1000() -> None:
    events = parts(list(published_events(publication(2500), RECIPIENTS_PER_PART)))

    assert [e.part for e in events] == [1, 2, 3]
    assert {e.parts for e in events} == {3}
    assert [len(e.recipient_ids) for e in events] == [1000, 1000, 500]
    assert {e.recipient_count for e in events} == {2500}
    assert [i for e in events for i in e.recipient_ids] == list(publication(2500).recipient_ids)


def test_event_ids_are_stable_per_revision_and_distinct_per_part() -> None:
    first = published_events(publication(1500), RECIPIENTS_PER_PART)
    again = published_events(publication(1500), RECIPIENTS_PER_PART)
    changed = published_events(publication(1500, revision="r2"), RECIPIENTS_PER_PART)

    assert [e.event_id for e in first] == [e.event_id for e in again]
    assert len({e.event_id for e in first}) == 2
    assert not {e.event_id for e in first} & {e.event_id for e in changed}


def test_events_carry_no_text_and_the_creation_time() -> None:
    (event,) = published_events(publication(3), RECIPIENTS_PER_PART)

    assert "body" not in event.model_dump() and "subject" not in event.model_dump()
    assert event.occurred_at == publication(3).created_at
