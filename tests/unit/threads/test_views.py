"""Unread counts derived from seqs (the View domain object)."""

import dataclasses
from datetime import timedelta
from typing import Any

from services.threads.domain import View
from shared.clock import utcnow

NOW = utcnow()
BLANK = View(
    thread_id="t1",
    participant_id="p1",
    role="provider",
    other_id="c1",
    other_first_name="",
    other_last_name="",
    other_display_name="",
    created_at=NOW,
    last_message_at=NOW,
    activity_at=NOW,
    last_seq=0,
    read_seq=0,
    unread=False,
    archived=False,
)


def view(**fields: Any) -> View:
    return dataclasses.replace(BLANK, **fields)


def applied(before: View, seq: int, incoming: bool) -> View:
    """A view after a message, as the store applies the domain's change ($max, then $set)."""
    at = NOW + timedelta(seconds=seq)
    change = View.on_incoming(seq, at) if incoming else View.on_own(seq, at)
    fields = {k: max(v, getattr(before, k)) for k, v in change.raised.items()}
    if incoming and View.read_past(before.read_seq, seq):
        return dataclasses.replace(before, **fields)
    return dataclasses.replace(before, **fields, **change.set)


def test_an_incoming_message_unarchives_the_thread_and_makes_it_unread() -> None:
    archived = view(last_seq=3, read_seq=3, archived=True)

    after = applied(archived, 4, incoming=True)

    assert (after.archived, after.unread, after.unread_count, after.last_incoming_seq) == (
        False,
        True,
        1,
        4,
    )


def test_an_incoming_message_already_read_past_keeps_the_readers_archive() -> None:
    read_ahead = view(last_seq=3, read_seq=5, archived=True)

    after = applied(read_ahead, 4, incoming=True)

    assert (after.archived, after.unread) == (True, False)


def test_ones_own_message_reads_the_thread() -> None:
    unread = view(last_seq=3, read_seq=1, unread=True, own_after_read=1)

    after = applied(unread, 4, incoming=False)

    assert (after.unread, after.read_seq, after.unread_count, after.own_after_read) == (
        False,
        4,
        0,
        0,
    )


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
