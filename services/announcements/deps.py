"""The collaborators the composition root builds once per process."""

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request

from services.announcements.store import (
    AnnouncementStore,
    ClientProjection,
    DeliveryOutcomes,
    ReadMarks,
)
from shared.ratelimit import RateLimiter


@dataclass(frozen=True)
class Deps:
    """Everything handlers need, built in app.py."""

    clients: ClientProjection
    announcements: AnnouncementStore
    outcomes: DeliveryOutcomes
    reads: ReadMarks
    max_recipients: int
    send_limit: RateLimiter


async def _deps(request: Request) -> Deps:
    deps: Deps = request.app.state.deps
    return deps


DepsDep = Annotated[Deps, Depends(_deps)]
