"""Timestamps round-trip through the database unchanged."""

from shared.clock import utcnow


def test_now_has_millisecond_precision_and_a_timezone() -> None:
    now = utcnow()

    assert now.microsecond % 1000 == 0
    assert now.utcoffset() is not None
