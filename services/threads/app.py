"""Composition root of the threads service."""

import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import timedelta
from typing import Any, TypedDict

from fastapi import FastAPI

from services.threads import events
from services.threads.api import install_error_mapping, routers
from services.threads.deps import Deps
from services.threads.handlers.access import AccessLog
from services.threads.handlers.audit import AuditRecords
from services.threads.handlers.inbox import Inboxes
from services.threads.handlers.messages import Messaging, recovery_covers
from services.threads.handlers.projections import Directory
from services.threads.handlers.settings import Settings
from services.threads.handlers.state import ThreadStates
from services.threads.handlers.threads import Conversations, thread_views
from services.threads.settings import ThreadsSettings
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
from services.threads.store.threads import to_thread
from services.threads.subscribers import register_subscribers
from shared import topics
from shared.audit import AuditTrail
from shared.crypto import EnvelopeCipher
from shared.events.audit import AccessRecorded
from shared.events.base import Event
from shared.events.threads import (
    ChartEntry,
    DisplayNameChanged,
    InboxEntryChanged,
    MessageSent,
    PracticeMessagingToggled,
    ThreadCreated,
    ThreadStateChanged,
)
from shared.kafka import EventPublisher, create_broker, declare_published
from shared.outbox import Document, Outbox
from shared.ratelimit import Rate, RateLimiter
from shared.service import create_service_app, service_runtime


class _Shared(TypedDict):
    """The collaborators both messages and conversations work with."""

    threads: ThreadStore
    views: ViewStore
    practices: PracticeSettings
    blocks: BlockList
    profiles: ProviderProfiles
    clients: ClientDirectory
    audit: AccessLog
    outbox: Outbox


def build_deps(
    db: Any,
    publisher: EventPublisher,
    cipher: EnvelopeCipher,
    *,
    grace: timedelta = timedelta(seconds=10),
    send_limit: RateLimiter | None = None,
) -> Deps:
    """Wire stores, use cases and the outbox on one database."""
    messages, views = MessageStore(db, cipher), ViewStore(db)
    practices, profiles, threads = PracticeSettings(db), ProviderProfiles(db), ThreadStore(db)
    clients = ClientDirectory(db, partitions=topics.partitions_of(topics.PRACTICE_CLIENTS))
    blocks, inboxes = BlockList(db), InboxStore(db)
    providers = ProviderDirectory(db)
    audit = AccessLog(AuditTrail(publisher, "threads"))
    outbox = Outbox(db, publisher, grace=grace)
    shared = _Shared(
        threads=threads,
        views=views,
        practices=practices,
        blocks=blocks,
        profiles=profiles,
        clients=clients,
        audit=audit,
        outbox=outbox,
    )
    messaging = Messaging(**shared, messages=messages, cipher=cipher)
    _register_recovery(outbox, messaging, practices, profiles, threads, views)
    return Deps(
        messaging=messaging,
        conversations=Conversations(**shared, providers=providers, inboxes=inboxes),
        states=ThreadStates(
            threads=threads,
            views=views,
            messages=messages,
            audit=audit,
            outbox=outbox,
            inboxes=inboxes,
        ),
        settings=Settings(
            practices=practices, profiles=profiles, views=views, inboxes=inboxes, outbox=outbox
        ),
        directory=Directory(
            clients=clients,
            providers=providers,
            blocks=blocks,
            views=views,
            inboxes=inboxes,
            publisher=publisher,
        ),
        audit_records=AuditRecords(AuditChain(db)),
        inboxes=Inboxes(
            inboxes=inboxes, publisher=publisher, clients=clients, profiles=profiles, views=views
        ),
        send_limit=send_limit or RateLimiter(db, "sends", Rate(0, 60.0, 0)),
        outbox=outbox,
        publisher=publisher,
        cipher=cipher,
    )


def _register_recovery(
    outbox: Outbox,
    messaging: Messaging,
    practices: PracticeSettings,
    profiles: ProviderProfiles,
    threads: ThreadStore,
    views: ViewStore,
) -> None:
    """How each kind of intent re-derives its events from the current state."""

    def from_doc(
        load: Callable[[str], Awaitable[Document | None]],
        derive: Callable[[Document], Awaitable[list[Event]]],
    ) -> Callable[[Document], Awaitable[list[Event]]]:
        async def recover(ref: Document) -> list[Event]:
            doc = await load(ref["id"])
            return await derive(doc) if doc is not None else []

        return recover

    outbox.on("messages", messaging.recover, covers=recovery_covers)
    outbox.on("practice", from_doc(practices.by_id, events.practice_events))
    outbox.on("profile", from_doc(profiles.by_id, events.profile_events))

    async def thread_with_views(doc: Document) -> list[Event]:
        both = await thread_views(to_thread(dict(doc)), views=views)
        return await events.thread_events(doc) + [e for v in both for e in events.inbox_events(v)]

    async def view_snapshot(doc: Document) -> list[Event]:
        return events.inbox_events(doc)

    outbox.on("thread", from_doc(threads.document, thread_with_views))
    outbox.on("view", from_doc(views.by_id, view_snapshot))


async def ensure_indexes(db: Any, cipher: EnvelopeCipher) -> None:
    """Every index the service relies on, including the unique ones guarding races."""
    for store in (
        ClientDirectory(db, partitions=topics.partitions_of(topics.PRACTICE_CLIENTS)),
        ThreadStore(db),
        MessageStore(db, cipher),
        ViewStore(db),
        BlockList(db),
        AuditChain(db),
    ):
        await store.ensure_indexes()


def create_app(settings: ThreadsSettings | None = None) -> FastAPI:
    """Build the threads service; settings come from the environment unless given."""
    settings = settings or ThreadsSettings()  # type: ignore[call-arg]
    broker = create_broker(settings, client_id="threads")
    register_subscribers(broker, settings)
    declare_published(
        broker,
        PracticeMessagingToggled,
        DisplayNameChanged,
        ThreadCreated,
        ThreadStateChanged,
        InboxEntryChanged,
        AccessRecorded,
        MessageSent,
        ChartEntry,
    )
    cipher = EnvelopeCipher.from_settings(settings)

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with service_runtime(
            app, settings, broker, name="threads", database=settings.threads_database
        ) as runtime:
            send_limit = RateLimiter(runtime.db, "sends", settings.send_rate())
            deps = build_deps(runtime.db, runtime.publisher, cipher, send_limit=send_limit)
            await ensure_indexes(runtime.db, cipher)
            app.state.deps = deps
            broker.context.set_global("deps", deps)
            await runtime.start(deps.outbox.run())
            runtime.report(app, "outbox_backlog", deps.outbox.backlog)
            runtime.spawn(send_limit.run())
            yield
            await deps.outbox.close()  # publishes in flight finish before the broker stops

    app = create_service_app(title="Threads", lifespan=lifespan, routers=routers, broker=broker)
    install_error_mapping(app)
    app.state.broker = broker
    return app
