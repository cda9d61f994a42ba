"""The collaborators the composition root builds once per process."""

from dataclasses import dataclass
from typing import Annotated

from services.threads.handlers.access import AccessLog
from services.threads.handlers.inbox import Inboxes
from services.threads.handlers.messages import Messaging
from services.threads.handlers.state import ThreadStates
from services.threads.handlers.threads import Conversations
from services.threads.store import (
    AuditChain,
    BlockList,
    ClientDirectory,
    MessageStore,
    PracticeSettings,
    ProviderDirectory,
    ProviderProfiles,
    ThreadStore,
    ViewStore,
)
from services.threads.store.inbox import InboxStore
from shared.crypto import EnvelopeCipher
from shared.kafka import EventPublisher
from shared.outbox import Outbox
from shared.ratelimit import RateLimiter
from shared.service import from_app_state


@dataclass(frozen=True)
class Deps:
    """Everything routes and subscribers need, built in app.py."""

    clients: ClientDirectory
    practices: PracticeSettings
    profiles: ProviderProfiles
    threads: ThreadStore
    messages: MessageStore
    views: ViewStore
    blocks: BlockList
    audit: AccessLog
    audit_chain: AuditChain
    cipher: EnvelopeCipher
    publisher: EventPublisher
    outbox: Outbox
    messaging: Messaging
    conversations: Conversations
    states: ThreadStates
    inboxes: InboxStore
    inbox_projection: Inboxes
    providers: ProviderDirectory
    send_limit: RateLimiter


DepsDep = Annotated[Deps, from_app_state("deps")]
