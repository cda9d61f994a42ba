"""The collaborators the composition root builds once per process."""

from dataclasses import dataclass
from typing import Annotated

from services.blocking.store import BlockStore, ClientDirectory
from shared.kafka import EventPublisher
from shared.outbox import Outbox
from shared.service import from_app_state


@dataclass(frozen=True)
class Deps:
    """Everything handlers need, built in app.py."""

    clients: ClientDirectory
    blocks: BlockStore
    outbox: Outbox
    publisher: EventPublisher


DepsDep = Annotated[Deps, from_app_state("deps")]
