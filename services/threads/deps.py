"""The collaborators the composition root builds once per process."""

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request

from services.threads.store import (
    AuditLog,
    BlockList,
    ClientDirectory,
    MessageStore,
    PracticeSettings,
    ProviderProfiles,
    ThreadStore,
    ViewStore,
)
from shared.crypto import EnvelopeCipher
from shared.kafka import EventPublisher
from shared.outbox import Outbox


@dataclass(frozen=True)
class Outboxes:
    """One outbox per collection whose changes publish events."""

    practices: Outbox
    profiles: Outbox
    threads: Outbox
    messages: Outbox
    views: Outbox

    def all(self) -> list[Outbox]:
        """Every outbox, for index creation and the relay."""
        return [self.practices, self.profiles, self.threads, self.messages, self.views]


@dataclass(frozen=True)
class Deps:
    """Everything handlers need, built in app.py."""

    clients: ClientDirectory
    practices: PracticeSettings
    profiles: ProviderProfiles
    threads: ThreadStore
    messages: MessageStore
    views: ViewStore
    blocks: BlockList
    audit: AuditLog
    cipher: EnvelopeCipher
    publisher: EventPublisher
    outboxes: Outboxes


def _deps(request: Request) -> Deps:
    deps: Deps = request.app.state.deps
    return deps


DepsDep = Annotated[Deps, Depends(_deps)]
