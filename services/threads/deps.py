"""The use cases the composition root builds once per process, for routes and subscribers."""

from dataclasses import dataclass
from typing import Annotated

from services.threads.handlers.audit import AuditRecords
from services.threads.handlers.inbox import Inboxes
from services.threads.handlers.messages import Messaging
from services.threads.handlers.projections import Directory
from services.threads.handlers.settings import Settings
from services.threads.handlers.state import ThreadStates
from services.threads.handlers.threads import Conversations
from shared.crypto import EnvelopeCipher
from shared.kafka import EventPublisher
from shared.outbox import Outbox
from shared.ratelimit import RateLimiter
from shared.service import from_app_state


@dataclass(frozen=True)
class Deps:
    """Everything routes and subscribers need, built in app.py."""

    messaging: Messaging
    conversations: Conversations
    states: ThreadStates
    settings: Settings
    directory: Directory
    audit_records: AuditRecords
    inboxes: Inboxes
    send_limit: RateLimiter
    # The runtime the use cases share (the outbox drains on stop; recovery rebuilds from it).
    outbox: Outbox
    publisher: EventPublisher
    cipher: EnvelopeCipher


DepsDep = Annotated[Deps, from_app_state("deps")]
