"""The collaborators the composition root builds once per process."""

from dataclasses import dataclass
from typing import Annotated

from services.notify.handlers.delivery import DeliveryTools, Publisher
from services.notify.handlers.live import LiveFeed
from services.notify.handlers.scheduler import Scheduler
from services.notify.store.projections import ClientEmails, ReadState
from services.notify.store.users import Users
from shared.service import from_app_state


@dataclass(frozen=True)
class Deps:
    """Everything handlers need, built in app.py."""

    users: Users
    clients: ClientEmails
    reads: ReadState
    tools: DeliveryTools
    scheduler: Scheduler
    feed: LiveFeed
    publisher: Publisher
    heartbeat_seconds: float


DepsDep = Annotated[Deps, from_app_state("deps")]
