"""One notion of "now" for the whole codebase: timezone-aware UTC."""

from datetime import UTC, datetime


def utcnow() -> datetime:
    """Current time in UTC, timezone-aware."""
    return datetime.now(UTC)
