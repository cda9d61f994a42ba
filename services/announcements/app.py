"""Composition root of the announcements service."""

import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from fastapi import FastAPI
from faststream.kafka import KafkaBroker

from services.announcements.api import install_error_mapping, routers
from services.announcements.deps import Deps
from services.announcements.handlers.inbox import READ_INTENT, Inbox
from services.announcements.handlers.projections import Projections
from services.announcements.handlers.sending import PUBLISH_INTENT, Sending
from services.announcements.handlers.sent import SentAnnouncements
from services.announcements.handlers.timelines import Listing
from services.announcements.settings import AnnouncementsSettings
from services.announcements.store import (
    AnnouncementStore,
    ClientProjection,
    DeliveryStats,
    ReadMarks,
    Timelines,
)
from services.announcements.subscribers import register_subscribers
from shared import topics
from shared.crypto import EnvelopeCipher
from shared.events.announcements import AnnouncementPublished
from shared.events.audit import AccessRecorded
from shared.kafka import create_broker, declare_published
from shared.outbox import Outbox
from shared.ratelimit import RateLimiter
from shared.service import create_service_app, service_runtime


def _partitions(topic: str) -> int:
    """The partitions a topic is created with (`shared.topics`)."""
    return next(spec.partitions for spec in topics.TOPICS if spec.name == topic)


def _known_partitions(broker: KafkaBroker, topic: str) -> int:
    """The partitions the consumers' metadata knows of the topic (0 if none yet)."""
    for subscriber in broker.subscribers:
        consumer = getattr(subscriber, "consumer", None)
        if consumer is not None and topic in getattr(subscriber, "topic_names_for_subscribe", ()):
            return len(consumer.partitions_for_topic(topic) or ())
    return 0


@dataclass(frozen=True)
class Stores:
    """The service's MongoDB stores on one database."""

    clients: ClientProjection
    timelines: Timelines
    announcements: AnnouncementStore
    counts: DeliveryStats
    reads: ReadMarks

    @classmethod
    def on(cls, db: Any, cipher: EnvelopeCipher) -> "Stores":
        """Every store of the service on this database."""
        timelines = Timelines(db, partitions=_partitions(topics.MESSAGING_ANNOUNCEMENTS))
        return cls(
            clients=ClientProjection(db, partitions=_partitions(topics.PRACTICE_CLIENTS)),
            timelines=timelines,
            announcements=AnnouncementStore(db, cipher, timelines),
            counts=DeliveryStats(db, partitions=_partitions(topics.MESSAGING_DELIVERIES)),
            reads=ReadMarks(db),
        )

    async def ensure_indexes(self) -> None:
        """Every index the service relies on, including the unique ones guarding races."""
        for store in (self.clients, self.timelines, self.announcements, self.counts, self.reads):
            await store.ensure_indexes()


def build_deps(
    stores: Stores, outbox: Outbox, send_limit: RateLimiter, settings: AnnouncementsSettings
) -> Deps:
    """Bind the use cases to the stores and the outbox, and tell the outbox how each kind
    of intent recovers its events."""
    sending = Sending(
        clients=stores.clients,
        announcements=stores.announcements,
        outbox=outbox,
        limit=send_limit,
        max_recipients=settings.announcements_max_recipients,
        per_part=settings.announcements_recipients_per_part,
    )
    inbox = Inbox(announcements=stores.announcements, reads=stores.reads, outbox=outbox)
    outbox.on(PUBLISH_INTENT, sending.recover)
    outbox.on(READ_INTENT, inbox.recover_mark)
    return Deps(
        sending=sending,
        sent=SentAnnouncements(
            announcements=stores.announcements, counts=stores.counts, reads=stores.reads
        ),
        inbox=inbox,
        projections=Projections(clients=stores.clients, counts=stores.counts),
        listing=Listing(announcements=stores.announcements),
    )


def create_app(settings: AnnouncementsSettings | None = None) -> FastAPI:
    """Build the announcements service; settings come from the environment unless given."""
    settings = settings or AnnouncementsSettings()  # type: ignore[call-arg]
    broker = create_broker(settings, client_id="announcements")
    register_subscribers(broker, settings)
    declare_published(broker, AnnouncementPublished, AccessRecorded)

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with service_runtime(
            app, settings, broker, name="announcements", database=settings.announcements_database
        ) as runtime:
            outbox = Outbox(
                runtime.db,
                runtime.publisher,
                grace=timedelta(seconds=settings.announcements_outbox_grace_seconds),
            )
            send_limit = RateLimiter(runtime.db, "announcements", settings.announcement_rate())
            stores = Stores.on(runtime.db, EnvelopeCipher.from_settings(settings))
            deps = build_deps(stores, outbox, send_limit, settings)
            await stores.ensure_indexes()
            app.state.deps = deps
            # The intents in flight, for whoever inspects or recovers them (tests, operators).
            app.state.outbox = outbox
            broker.context.set_global("deps", deps)
            await runtime.start(outbox.run())
            stores.counts.observe_partitions(_known_partitions(broker, topics.MESSAGING_DELIVERIES))
            stores.clients.observe_partitions(_known_partitions(broker, topics.PRACTICE_CLIENTS))
            stores.timelines.observe_partitions(
                _known_partitions(broker, topics.MESSAGING_ANNOUNCEMENTS)
            )
            runtime.report(app, "outbox_backlog", outbox.backlog)
            runtime.spawn(send_limit.run())
            yield
            await outbox.close()  # publishes in flight finish before the broker stops

    app = create_service_app(
        title="Announcements", lifespan=lifespan, routers=routers, broker=broker
    )
    install_error_mapping(app)
    app.state.broker = broker
    return app
