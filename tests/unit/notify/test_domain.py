"""Pure rules: retry timing, what an outcome makes of a delivery, addresses, devices, text."""

import random
from datetime import UTC, datetime, timedelta

import pytest

from services.notify.domain import (
    MAX_DEVICES_PER_USER,
    Attempt,
    Close,
    Device,
    GiveUp,
    Job,
    Part,
    Permanent,
    Preferences,
    Profile,
    QueueEntry,
    ReadPosition,
    Retry,
    RetryPolicy,
    Role,
    Sent,
    Skipped,
    Source,
    TooManyDevices,
    Transient,
    email_body,
    email_record,
    new_delivery,
    push_record,
)

NOW = datetime(2030, 1, 1, tzinfo=UTC)
POLICY = RetryPolicy(1.0, 10, rng=random.Random(7))


def job(role: Role = "client", source: Source = "direct_message") -> Job:
    """A job with fixed ids."""
    return Job(source, "m-1", "pr-1", "u-1", role, thread_id="t-1", seq=3)


def device(token: str) -> Device:
    return Device(f"d-{token}", "u-1", "ios", token, NOW)


def test_backoff_is_jittered_below_an_exponential_ceiling() -> None:
    policy = RetryPolicy(1.0, 300, rng=random.Random(7))

    delays = []
    for n in range(6):
        next_at = policy.next_attempt(n, NOW, NOW)
        assert next_at is not None
        delays.append((next_at - NOW).total_seconds())

    assert all(0 <= d <= 2**n for n, d in enumerate(delays))


def test_no_retry_once_the_window_since_the_first_attempt_is_spent() -> None:
    policy = RetryPolicy(1.0, 10)

    assert policy.next_attempt(3, NOW, NOW + timedelta(seconds=10)) is None
    late = policy.next_attempt(9, NOW, NOW + timedelta(seconds=9))
    assert late is not None and late <= NOW + timedelta(seconds=10)


def test_final_outcomes_close_the_delivery() -> None:
    push = new_delivery(job(), "push", NOW)

    assert push.next_step(Sent(), started=NOW, now=NOW, policy=POLICY) == Close("sent", None)
    skipped = push.next_step(Skipped("read"), started=NOW, now=NOW, policy=POLICY)
    assert skipped == Close("skipped", "read")
    refused = push.next_step(Permanent("gateway answered 400"), started=NOW, now=NOW, policy=POLICY)
    assert refused == GiveUp("gateway answered 400")


def test_a_transient_failure_is_retried_counting_the_attempt_from_the_first_one() -> None:
    push = new_delivery(job(), "push", NOW)
    later = NOW + timedelta(seconds=2)

    first = push.next_step(Transient("down"), started=NOW, now=NOW, policy=POLICY)
    assert isinstance(first, Retry)
    again = first.delivery.next_step(Transient("down"), started=later, now=later, policy=POLICY)

    assert isinstance(again, Retry)
    assert (again.delivery.status, again.delivery.attempts) == ("retrying", 2)
    assert again.delivery.first_attempt_at == NOW  # the window counts from the first try
    assert later <= again.delivery.due_at <= NOW + timedelta(seconds=10)


def test_a_transient_failure_past_the_window_gives_up() -> None:
    retrying = new_delivery(job(), "push", NOW).closed("retrying", None, NOW)
    spent = NOW + timedelta(seconds=10)

    assert retrying.next_step(Transient("down"), started=spent, now=spent, policy=POLICY) == GiveUp(
        "down"
    )


def test_a_users_own_address_wins_and_providers_have_no_directory() -> None:
    assert job().email_address(Preferences(), "c@x.org") == "c@x.org"
    assert job().email_address(Preferences(email_address="own@x.org"), "c@x.org") == "own@x.org"
    assert job("provider").email_address(Preferences(), "c@x.org") is None
    assert job().email_address(Preferences(email=False), "c@x.org") is None


def test_only_a_client_without_an_own_address_needs_the_directory() -> None:
    assert job().needs_directory(Preferences())
    assert not job().needs_directory(Preferences(email_address="own@x.org"))
    assert not job().needs_directory(Preferences(email=False))
    assert not job("provider").needs_directory(Preferences())


def test_a_message_is_unread_until_the_read_position_reaches_it() -> None:
    assert ReadPosition(read_seq=2).still_unread(3)
    assert not ReadPosition(read_seq=3).still_unread(3)


def test_an_email_is_skipped_once_read_then_when_opted_out() -> None:
    assert job().email_skip(Preferences(), ReadPosition(read_seq=3)) == Skipped("read")
    assert job().email_skip(Preferences(email=False), ReadPosition()) == Skipped("opted_out")
    assert job().email_skip(Preferences(), ReadPosition(read_seq=2)) is None
    # An announcement has no read position: only the preference counts.
    assert job(source="announcement").email_skip(Preferences(), None) is None


def test_a_direct_messages_email_waits_for_its_delay_whatever_the_address() -> None:
    email = email_record(job(), Preferences(), None, NOW, timedelta(minutes=15))

    assert (email.status, email.due_at) == ("pending", NOW + timedelta(minutes=15))


def test_an_announcements_email_is_skipped_when_opted_out_or_without_address() -> None:
    announcement = job(source="announcement")

    opted_out = email_record(announcement, Preferences(email=False), "c@x.org", NOW)
    no_address = email_record(announcement, Preferences(), None, NOW)
    to_send = email_record(announcement, Preferences(), "c@x.org", NOW)

    assert (opted_out.status, opted_out.reason) == ("skipped", "opted_out")
    assert (no_address.status, no_address.reason) == ("skipped", "no_address")
    assert (to_send.status, to_send.due_at) == ("pending", NOW)


def test_a_push_is_skipped_without_devices_or_when_opted_out() -> None:
    with_device = Profile(Preferences(), [device("a")])

    assert push_record(job(), Profile(Preferences(), []), NOW).reason == "no_device"
    assert push_record(job(), Profile(Preferences(push=False), [device("a")]), NOW).is_final
    assert push_record(job(), with_device, NOW).status == "pending"


def test_a_push_rejected_on_every_device_reached_nobody() -> None:
    profile = Profile(Preferences(), [device("a"), device("b")])

    assert profile.after_push(Sent(), ["a", "b", "other"]) == (Skipped("rejected"), ["a", "b"])
    assert profile.after_push(Sent(), ["b"]) == (Sent(), ["b"])
    assert profile.after_push(Sent(), ["other"]) == (Sent(), [])


def test_devices_are_limited_per_user_but_a_known_token_may_register_again() -> None:
    full = Profile(Preferences(), [device(str(i)) for i in range(MAX_DEVICES_PER_USER)])

    with pytest.raises(TooManyDevices):
        full.check_new_device("new")
    full.check_new_device("3")
    Profile(Preferences(), [device("a")]).check_new_device("new")


def test_changed_preferences_keep_what_is_not_given_and_a_null_address_clears_it() -> None:
    prefs = Preferences(push=False, email=True, email_address="own@x.org")

    assert prefs.changed({"email": False}) == Preferences(False, False, "own@x.org")
    assert prefs.changed({"email_address": None}) == Preferences(False, True, None)
    assert prefs.changed({"push": True, "email_address": "n@x.org"}) == Preferences(
        True, True, "n@x.org"
    )


def test_an_announcements_pushes_share_one_opaque_id_and_a_messages_is_its_own() -> None:
    part = Part("a-1", "pr-1", 1, ("c-1", "c-2", "c-1"))
    first, second = (new_delivery(j, "push", NOW) for j in part.jobs())
    message = new_delivery(job(), "push", NOW)

    assert len(part.jobs()) == 2  # one job per distinct recipient
    assert first.push_notification_id == second.push_notification_id
    assert message.push_notification_id not in (first.push_notification_id, message.id)


def test_a_badge_counts_at_least_the_message_being_pushed() -> None:
    assert ReadPosition().badge == 1
    assert ReadPosition(unread_threads=4).badge == 4


def test_an_attempt_starts_only_well_within_its_lease() -> None:
    run = Attempt(new_delivery(job(), "push", NOW), lease_until=NOW + timedelta(seconds=60))

    assert run.may_start(NOW + timedelta(seconds=30), timedelta(seconds=30))
    assert not run.may_start(NOW + timedelta(seconds=31), timedelta(seconds=30))


def test_a_taken_over_entry_is_leased_past_its_due_time_and_an_old_one_is_an_orphan() -> None:
    entry = QueueEntry.for_delivery(
        new_delivery(job(), "email", NOW + timedelta(minutes=10)), "i-1", timedelta(minutes=2), NOW
    )

    assert entry.takeover_lease(NOW, timedelta(minutes=2)) == NOW + timedelta(minutes=12)
    assert not entry.orphaned(NOW + timedelta(minutes=4))
    assert entry.orphaned(NOW + timedelta(minutes=6))


def test_email_text_is_generic_with_an_opaque_link() -> None:
    link = job().link("https://portal.example/")

    assert link == "https://portal.example/threads/t-1"
    assert email_body(link) == f"You have a new secure message. Sign in to read it: {link}\n"
    assert job(source="announcement").link("https://p").endswith("/announcements/m-1")
