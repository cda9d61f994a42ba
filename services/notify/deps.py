"""The collaborators the composition root builds once per process."""

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request

from services.notify.dispatcher import Dispatcher
from services.notify.handlers.delivery import DeliveryTools
from services.notify.handlers.live import LiveFeed
from services.notify.store.projections import ClientEmails, ReadState
from services.notify.store.users import Users
from shared.kafka import EventPublisher


@dataclass(frozen=True)
class Deps:
    """Everything handlers need, built in app.py."""

    users: Users
    clients: ClientEmails
    reads: ReadState
    tools: DeliveryTools
    dispatcher: Dispatcher
    feed: LiveFeed
    publisher: EventPublisher
    heartbeat_seconds: float


async def _deps(request: Request) -> Deps:
    deps: Deps = request.app.state.deps
    return deps


DepsDep = Annotated[Deps, Depends(_deps)]
