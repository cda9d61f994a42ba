"""Live events: what a user's open browser streams are told (ids and counts only)."""

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal


@dataclass(frozen=True)
class LiveEvent:
    """A Server-Sent Event for one user: `message` or `unread`, with ids and counts only."""

    id: str
    user_id: str
    kind: Literal["message", "unread"]
    data: dict[str, Any]
    occurred_at: datetime
