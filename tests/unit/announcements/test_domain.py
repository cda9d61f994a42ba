"""Domain rules of announcements: recipients, pages, and delivery counts kept exactly once."""

from datetime import UTC, datetime

import pytest

from services.announcements.domain import (
    Announcement,
    Counter,
    NoRecipients,
    Outcome,
    Page,
    Reach,
    Recipients,
    Tally,
    TooManyRecipients,
    count_outcomes,
    split_parts,
)

AT = datetime(2025, 1, 2, tzinfo=UTC)


class Topic:
    """Outcomes of one announcement at increasing offsets of one partition."""

    def __init__(self, partition: int = 2) -> None:
        self.partition = partition
        self.offset = 100

    def outcome(self, recipient: str, channel: str, status: str) -> Outcome:
        self.offset += 1
        return Outcome("a1", "pr1", recipient, channel, status, self.partition, self.offset)


def mixed(topic: Topic) -> list[Outcome]:
    return [
        topic.outcome("c1", "inbox", "delivered"),
        topic.outcome("c1", "push", "failed"),
        topic.outcome("c1", "email", "sent"),  # failed → notified
        topic.outcome("c2", "inbox", "delivered"),
        topic.outcome("c2", "push", "failed"),
        topic.outcome("c3", "push", "skipped"),
        topic.outcome("c3", "live", "sent"),  # a live nudge notifies nobody
    ]


def total(counters: dict[tuple[str, int], Counter]) -> Tally:
    found = Tally()
    for counter in counters.values():
        found = found + counter.tally
    return found


def test_a_batch_is_counted_by_recipient() -> None:
    counted = count_outcomes(mixed(Topic()), {}, {})

    assert total(counted.counters) == Tally(delivered=2, notified=1, failed=1)
    assert counted.counters[("a1", 2)].offset == 107
    assert set(counted.reaches) == {("a1", "c1"), ("a1", "c2"), ("a1", "c3")}


def test_a_redelivered_batch_changes_no_counter() -> None:
    batch = mixed(Topic())
    first = count_outcomes(batch, {}, {})

    again = count_outcomes(batch, first.counters, first.reaches)

    assert again.counters == {}
    assert again.reaches == first.reaches


def test_outcomes_past_a_counter_written_before_a_crash_count_once() -> None:
    topic = Topic()
    batch = mixed(topic)
    first = count_outcomes(batch, {}, {})
    later = [topic.outcome("c2", "email", "sent"), topic.outcome("c4", "inbox", "delivered")]

    # The crash after the counters: the reaches were never written.
    redone = count_outcomes(batch + later, first.counters, {})

    assert total(redone.counters) == Tally(delivered=3, notified=2, failed=0)
    assert redone.reaches[("a1", "c1")] == Reach(delivered=True, sent=True, failed=True)


def test_each_partition_keeps_its_own_counter() -> None:
    counted = count_outcomes(
        [
            Topic(0).outcome("c1", "inbox", "delivered"),
            Topic(5).outcome("c2", "inbox", "delivered"),
        ],
        {},
        {},
    )

    assert set(counted.counters) == {("a1", 0), ("a1", 5)}
    assert total(counted.counters) == Tally(delivered=2)


def test_a_later_sent_outranks_an_earlier_failure() -> None:
    reach = Reach().after("push", "failed")

    assert reach.tally() == Tally(failed=1)
    assert reach.after("email", "sent").tally() == Tally(notified=1)
    assert reach.after("email", "sent").after("push", "failed").tally() == Tally(notified=1)


def test_only_the_inbox_delivers_and_only_push_and_email_notify() -> None:
    assert Reach().after("live", "sent").tally() == Tally()
    assert Reach().after("push", "delivered").tally() == Tally()
    assert Reach().after("inbox", "delivered").tally() == Tally(delivered=1)


def test_a_counter_ignores_offsets_it_holds() -> None:
    counter = Counter(Tally(delivered=1), offset=7)
    delivered = Reach(delivered=True)

    assert counter.counting(7, Reach(), delivered) is counter
    assert counter.counting(8, Reach(), delivered) == Counter(Tally(delivered=2), 8)


def test_chosen_recipients_count_repeats_against_the_maximum() -> None:
    with pytest.raises(TooManyRecipients):
        Recipients(client_ids=("a", "a", "a")).chosen(2)
    with pytest.raises(NoRecipients):
        Recipients().chosen(2)

    assert Recipients(client_ids=("b", "a", "b")).chosen(3) == ("b", "a")


def test_split_parts_keeps_order_and_sizes() -> None:
    assert split_parts(["a", "b", "c"], 2) == [["a", "b"], ["c"]]
    assert split_parts(["a", "b"], 2) == [["a", "b"]]
    assert split_parts([], 2) == [[]]


def announcement(n: int) -> Announcement:
    return Announcement(f"a{n}", "pr1", "p1", None, "text", AT, 1, sort_key=f"k{n}")


def test_a_page_ends_where_nothing_more_was_found() -> None:
    found = [announcement(3), announcement(2), announcement(1)]

    assert Page.of(found, 2) == Page(found[:2], "k2")
    assert Page.of(found, 3) == Page(found, None)


def test_only_its_author_in_their_practice_sent_an_announcement() -> None:
    a = announcement(1)

    assert a.is_by("pr1", "p1")
    assert not a.is_by("pr1", "p2") and not a.is_by("pr2", "p1")
