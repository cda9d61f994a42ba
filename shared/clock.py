"""One notion of "now" for the whole codebase: timezone-aware UTC."""

from datetime import UTC, datetime


def utcnow() -> datetime:
    """Current time in UTC, at the millisecond precision the database stores.

    A value answered right after a write then equals the one read back later.
    """
    now = datetime.now(UTC)
    return now.replace(microsecond=now.microsecond // 1000 * 1000)
