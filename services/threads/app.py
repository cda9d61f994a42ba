"""Composition root of the threads service."""

import contextlib
import functools
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

from fastapi import FastAPI

from services.threads import events
from services.threads.api import install_error_mapping, routers
from services.threads.deps import Deps, Outboxes
from services.threads.handlers.messages import message_effects
from services.threads.settings import ThreadsSettings
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
from services.threads.subscribers import register_subscribers
from shared.crypto import EnvelopeCipher
from shared.events.threads import (
    ChartEntry,
    DisplayNameChanged,
    MessageSent,
    PracticeMessagingToggled,
    ThreadCreated,
    ThreadStateChanged,
)
from shared.kafka import EventPublisher, create_broker, declare_published
from shared.outbox import Outbox
from shared.service import create_service_app, service_runtime


def build_deps(
    db: Any,
    publisher: EventPublisher,
    cipher: EnvelopeCipher,
    *,
    grace: timedelta = timedelta(seconds=5),
) -> Deps:
    """Wire stores and outboxes on one database; the relay leaves documents younger than grace."""
    messages, views = MessageStore(db, cipher), ViewStore(db)
    practices, profiles, threads = PracticeSettings(db), ProviderProfiles(db), ThreadStore(db)
    view_outbox = Outbox(
        views.collection,
        functools.partial(events.view_events, views=views, messages=messages),
        publisher,
        grace=grace,
    )
    message_outbox = Outbox(
        messages.collection,
        functools.partial(
            message_effects, views=views, view_outbox=view_outbox, messages=messages, cipher=cipher
        ),
        publisher,
        grace=grace,
    )
    outboxes = Outboxes(
        practices=Outbox(practices.collection, events.practice_events, publisher, grace=grace),
        profiles=Outbox(profiles.collection, events.profile_events, publisher, grace=grace),
        threads=Outbox(threads.collection, events.thread_events, publisher, grace=grace),
        messages=message_outbox,
        views=view_outbox,
    )
    return Deps(
        clients=ClientDirectory(db),
        practices=practices,
        profiles=profiles,
        threads=threads,
        messages=messages,
        views=views,
        blocks=BlockList(db),
        audit=AuditLog(db),
        cipher=cipher,
        publisher=publisher,
        outboxes=outboxes,
    )


async def ensure_indexes(deps: Deps) -> None:
    """Every index the service relies on, including the unique ones guarding races."""
    for store in (deps.clients, deps.threads, deps.messages, deps.views, deps.blocks, deps.audit):
        await store.ensure_indexes()
    for outbox in deps.outboxes.all():
        await outbox.ensure_indexes()


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
        MessageSent,
        ChartEntry,
    )
    cipher = EnvelopeCipher.from_settings(settings)

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with service_runtime(
            app, settings, broker, name="threads", database=settings.threads_database
        ) as runtime:
            deps = build_deps(runtime.db, runtime.publisher, cipher)
            await ensure_indexes(deps)
            app.state.deps = deps
            broker.context.set_global("deps", deps)
            await broker.start()
            for outbox in deps.outboxes.all():
                runtime.spawn(outbox.run())
            yield

    app = create_service_app(title="Threads", lifespan=lifespan, routers=routers, broker=broker)
    install_error_mapping(app)
    app.state.broker = broker
    return app
