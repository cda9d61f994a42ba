"""Composition root of the announcements service."""

import contextlib
from collections.abc import AsyncIterator
from datetime import timedelta

from fastapi import FastAPI
from faststream.kafka import KafkaBroker

from services.announcements.api import PROBLEMS, router
from services.announcements.deps import Deps
from services.announcements.settings import AnnouncementsSettings
from services.announcements.store import (
    AnnouncementStore,
    ClientProjection,
    DeliveryStats,
    ReadMarks,
)
from services.announcements.subscribers import register_subscribers
from shared import topics
from shared.crypto import EnvelopeCipher
from shared.events.announcements import AnnouncementPublished
from shared.events.audit import AccessRecorded
from shared.kafka import create_broker, declare_published
from shared.outbox import Outbox
from shared.problems import install_domain_errors
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
            announcements = AnnouncementStore(
                runtime.db,
                EnvelopeCipher.from_settings(settings),
                outbox,
                per_part=settings.announcements_recipients_per_part,
            )
            deps = Deps(
                clients=ClientProjection(runtime.db),
                announcements=announcements,
                stats=DeliveryStats(
                    runtime.db, partitions=_partitions(topics.MESSAGING_DELIVERIES)
                ),
                reads=ReadMarks(runtime.db, outbox),
                max_recipients=settings.announcements_max_recipients,
                send_limit=RateLimiter(runtime.db, "announcements", settings.announcement_rate()),
            )
            for store in (deps.clients, deps.announcements, deps.stats, deps.reads):
                await store.ensure_indexes()
            app.state.deps = deps
            broker.context.set_global("deps", deps)
            await broker.start()
            deps.stats.observe_partitions(_known_partitions(broker, topics.MESSAGING_DELIVERIES))
            runtime.spawn(outbox.run())
            runtime.report(app, "outbox_backlog", outbox.backlog)
            runtime.spawn(deps.send_limit.run())
            yield

    app = create_service_app(
        title="Announcements", lifespan=lifespan, routers=[router], broker=broker
    )
    install_domain_errors(app, PROBLEMS)
    app.state.broker = broker
    return app
