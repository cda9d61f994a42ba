"""The collaborators the composition root builds once per process."""

from dataclasses import dataclass
from typing import Annotated

from services.announcements.store import (
    AnnouncementStore,
    ClientProjection,
    DeliveryStats,
    ReadMarks,
)
from shared.ratelimit import RateLimiter
from shared.service import from_app_state


@dataclass(frozen=True)
class Deps:
    """Everything handlers need, built in app.py."""

    clients: ClientProjection
    announcements: AnnouncementStore
    stats: DeliveryStats
    reads: ReadMarks
    max_recipients: int
    send_limit: RateLimiter


DepsDep = Annotated[Deps, from_app_state("deps")]
