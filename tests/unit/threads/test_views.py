"""Unread counts derived from seqs (the View domain object)."""

from services.threads.domain import View
from shared.clock import utcnow


def view(**fields: object) -> View:
    now = utcnow()
    values: dict[str, object] = {
        "thread_id": "t1",
        "participant_id": "p1",
        "role": "provider",
        "other_id": "c1",
        "other_first_name": "",
        "other_last_name": "",
        "other_display_name": "",
        "created_at": now,
        "last_message_at": now,
        "activity_at": now,
        "last_seq": 0,
        "read_seq": 0,
        "unread": False,
        "archived": False,
    }
    values.update(fields)
    return View(**values)  # type: ignore[arg-type]


def test_messages_after_the_read_position_are_unread() -> None:
    assert view(last_seq=5, read_seq=2, unread=True).unread_count == 3


def test_a_read_thread_counts_nothing() -> None:
    assert view(last_seq=5, read_seq=5, unread=False).unread_count == 0


def test_marking_unread_makes_the_latest_incoming_message_unread_not_ones_own() -> None:
    # Client wrote 1, provider replied 2 and read everything; now "mark as unread".
    read = view(last_seq=2, read_seq=2, last_incoming_seq=1)

    marked = view(last_seq=2, last_incoming_seq=1, **read.marked_unread(2))

    assert (marked.unread, marked.read_seq, marked.unread_count) == (True, 0, 1)


def test_a_thread_marked_unread_counts_at_least_one() -> None:
    marked = view(last_seq=0, **view().marked_unread(0))

    assert (marked.unread, marked.unread_count) == (True, 1)
