"""Pure rules: retry timing, addresses, and the generic notification text."""

import random
from datetime import UTC, datetime, timedelta

from services.notify.domain import (
    Job,
    Preferences,
    RetryPolicy,
    email_address_for,
    email_body,
    link_for,
    still_unread,
)

NOW = datetime(2030, 1, 1, tzinfo=UTC)


def job(role: str = "client", source: str = "direct_message") -> Job:
    """A job with fixed ids."""
    return Job(source, "m-1", "pr-1", "u-1", role, thread_id="t-1", seq=3)  # type: ignore[arg-type]


def test_backoff_is_jittered_below_an_exponential_ceiling() -> None:
    policy = RetryPolicy(1.0, 300, rng=random.Random(7))

    delays = [(policy.next_attempt(n, NOW, NOW) - NOW).total_seconds() for n in range(6)]  # type: ignore[operator]

    assert all(0 <= d <= 2**n for n, d in enumerate(delays))


def test_no_retry_once_the_window_since_the_first_attempt_is_spent() -> None:
    policy = RetryPolicy(1.0, 10)

    assert policy.next_attempt(3, NOW, NOW + timedelta(seconds=10)) is None
    assert policy.next_attempt(9, NOW, NOW + timedelta(seconds=9)) <= NOW + timedelta(seconds=10)  # type: ignore[operator]


def test_a_users_own_address_wins_and_providers_have_no_directory() -> None:
    assert email_address_for(job(), Preferences(), "c@x.org") == "c@x.org"
    assert (
        email_address_for(job(), Preferences(email_address="own@x.org"), "c@x.org") == "own@x.org"
    )
    assert email_address_for(job("provider"), Preferences(), "c@x.org") is None
    assert email_address_for(job(), Preferences(email=False), "c@x.org") is None


def test_a_message_is_unread_until_the_read_position_reaches_it() -> None:
    assert still_unread(2, 3)
    assert not still_unread(3, 3)


def test_email_text_is_generic_with_an_opaque_link() -> None:
    link = link_for(job(), "https://portal.example/")

    assert link == "https://portal.example/threads/t-1"
    assert email_body(link) == f"You have a new secure message. Sign in to read it: {link}\n"
    assert link_for(job(source="announcement"), "https://p").endswith("/announcements/m-1")
