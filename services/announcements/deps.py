"""The use cases the composition root binds once per process, for routes and subscribers."""

from dataclasses import dataclass
from typing import Annotated

from services.announcements.handlers.inbox import Inbox
from services.announcements.handlers.projections import Projections
from services.announcements.handlers.sending import Sending
from services.announcements.handlers.sent import SentAnnouncements
from services.announcements.handlers.timelines import Listing
from shared.service import from_app_state


@dataclass(frozen=True)
class Deps:
    """Everything routes and subscribers call, built in app.py."""

    sending: Sending
    sent: SentAnnouncements
    inbox: Inbox
    projections: Projections
    listing: Listing


DepsDep = Annotated[Deps, from_app_state("deps")]
