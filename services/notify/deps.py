"""The use cases the composition root binds once per process, for routes and subscribers."""

from dataclasses import dataclass
from typing import Annotated

from services.notify.handlers.fanout import FanOut
from services.notify.handlers.jobs import Jobs
from services.notify.handlers.live import LiveFeed
from services.notify.handlers.me import Devices, NotificationPreferences
from services.notify.handlers.parts import Parts
from services.notify.handlers.projections import Projections
from shared.service import from_app_state


@dataclass(frozen=True)
class Deps:
    """Everything routes and subscribers call, built in app.py."""

    jobs: Jobs
    parts: Parts
    fanout: FanOut
    projections: Projections
    feed: LiveFeed
    devices: Devices
    preferences: NotificationPreferences
    # How often an open live stream is pinged (keeps proxies from closing it).
    heartbeat_seconds: float


DepsDep = Annotated[Deps, from_app_state("deps")]
