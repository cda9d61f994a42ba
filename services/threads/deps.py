"""The collaborators the composition root builds once per process."""

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request

from services.threads.store import ClientDirectory
from shared.kafka import EventPublisher


@dataclass(frozen=True)
class Deps:
    """Everything handlers need, built in app.py."""

    clients: ClientDirectory
    publisher: EventPublisher


def _deps(request: Request) -> Deps:
    deps: Deps = request.app.state.deps
    return deps


DepsDep = Annotated[Deps, Depends(_deps)]
