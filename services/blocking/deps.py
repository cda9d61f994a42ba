"""The use cases the composition root binds once per process, for routes and subscribers."""

from dataclasses import dataclass
from typing import Annotated

from services.blocking.handlers import BlockLists, ClientProjection, ListProjection
from shared.service import from_app_state


@dataclass(frozen=True)
class Deps:
    """Everything routes and subscribers need, built in app.py."""

    block_lists: BlockLists
    client_projection: ClientProjection
    list_projection: ListProjection


DepsDep = Annotated[Deps, from_app_state("deps")]
