"""What a channel answers to one attempt, and when to try again after a transient failure."""

import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta


@dataclass(frozen=True)
class Sent:
    """The provider accepted the notification."""


@dataclass(frozen=True)
class Skipped:
    """Nothing to send: no device, no address, opted out, or already read."""

    reason: str


@dataclass(frozen=True)
class Transient:
    """The provider is unreachable or overloaded: try again later."""

    error: str


@dataclass(frozen=True)
class Permanent:
    """The provider refused for good: retrying cannot help."""

    error: str


Outcome = Sent | Skipped | Transient | Permanent


@dataclass(frozen=True)
class PushResult:
    """What the push gateway said: the outcome and the pushkeys it rejected."""

    outcome: Outcome
    rejected: list[str]


@dataclass(frozen=True)
class RetryPolicy:
    """Exponential backoff with full jitter, bounded by a window since the first attempt."""

    base_seconds: float
    window_seconds: float
    rng: random.Random = field(default_factory=random.Random)

    def next_attempt(self, attempts: int, first_at: datetime, now: datetime) -> datetime | None:
        """When to try again after `attempts` failures, or None once the window is spent."""
        deadline = first_at + timedelta(seconds=self.window_seconds)
        if now >= deadline:
            return None
        ceiling = self.base_seconds * 2 ** min(attempts, 30)
        delay = timedelta(seconds=self.rng.uniform(0, ceiling))
        return min(now + delay, deadline)
