"""The collaborators the composition root builds once per process."""

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request

from services.blocking.store import BlockStore, ClientDirectory
from shared.kafka import EventPublisher
from shared.outbox import Outbox


@dataclass(frozen=True)
class Deps:
    """Everything handlers need, built in app.py."""

    clients: ClientDirectory
    blocks: BlockStore
    outbox: Outbox
    publisher: EventPublisher


async def _deps(request: Request) -> Deps:
    deps: Deps = request.app.state.deps
    return deps


DepsDep = Annotated[Deps, Depends(_deps)]
