"""Composition root of the notify service: stores, channels, use cases, consumers and timers."""

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, TypedDict

from fastapi import FastAPI
from faststream.kafka import KafkaBroker

from services.notify.api import install_error_mapping, routers
from services.notify.channels.dead_letters import DeadLetters
from services.notify.channels.email import Mailer
from services.notify.channels.events import EventProducer
from services.notify.channels.live import LiveHub
from services.notify.channels.push import PushGateway
from services.notify.deps import Deps
from services.notify.dispatcher import Dispatcher
from services.notify.domain import RetryPolicy
from services.notify.handlers.attempts import Attempts
from services.notify.handlers.email import EmailDelivery
from services.notify.handlers.fanout import FanOut
from services.notify.handlers.jobs import Jobs
from services.notify.handlers.live import LiveFeed
from services.notify.handlers.me import Devices, NotificationPreferences
from services.notify.handlers.outcomes import Outcomes
from services.notify.handlers.parts import Parts
from services.notify.handlers.projections import Projections
from services.notify.handlers.push import PushDelivery
from services.notify.handlers.recovery import Recovery
from services.notify.handlers.scheduler import Scheduler
from services.notify.ports import DeadLettersPort, MailerPort, PublisherPort, PushPort
from services.notify.settings import NotifySettings
from services.notify.store.deliveries import Deliveries
from services.notify.store.live_events import LiveEvents
from services.notify.store.projections import ClientEmails, ReadStates
from services.notify.store.queue import SWEEP_BATCH, WorkQueue
from services.notify.store.users import Users
from services.notify.subscribers import register_subscribers
from shared.events.notify import DeliveryRecorded, NotificationRequested
from shared.kafka import create_broker, declare_published
from shared.service import create_service_app, service_runtime


@dataclass(frozen=True)
class Stores:
    """The service's MongoDB stores (tests and operators read them as `app.state.stores`)."""

    deliveries: Deliveries
    queue: WorkQueue
    users: Users
    clients: ClientEmails
    reads: ReadStates
    live_events: LiveEvents

    @classmethod
    def of(cls, db: Any, settings: NotifySettings) -> "Stores":
        """The stores on one database."""
        return cls(
            deliveries=Deliveries(db),
            queue=WorkQueue(db),
            users=Users(db),
            clients=ClientEmails(db),
            reads=ReadStates(db),
            live_events=LiveEvents(db, retention=settings.notify_live_retention),
        )

    async def drop_legacy_indexes(self) -> None:
        """Indexes earlier versions kept, which nothing uses now."""
        for store in (self.deliveries, self.queue, self.live_events):
            await store.drop_legacy_indexes()


@dataclass(frozen=True)
class Channels:
    """The outside the deliveries reach: push gateway, mail server, broker."""

    push: PushPort
    mailer: MailerPort
    publisher: PublisherPort
    dead_letters: DeadLettersPort


@dataclass(frozen=True)
class Service:
    """The bound use cases, plus the in-process timers and the sweep the lifespan runs."""

    deps: Deps
    scheduler: Scheduler
    recovery: Recovery


class _Shared(TypedDict):
    """The collaborators both direct messages' jobs and announcement parts work with."""

    deliveries: Deliveries
    queue: WorkQueue
    users: Users
    email: EmailDelivery
    outcomes: Outcomes
    attempts: Attempts
    scheduler: Scheduler


def build_service(settings: NotifySettings, stores: Stores, channels: Channels) -> Service:
    """Bind every use case to its stores and channels, once per process."""
    timeout = settings.notify_send_timeout_seconds
    lease = timedelta(seconds=settings.notify_lease_seconds)
    scheduler = Scheduler(
        owner=settings.notify_instance_id,
        queue=stores.queue,
        dispatcher=Dispatcher(settings.notify_send_concurrency),
        release_horizon=lease,
        timer_horizon=timedelta(seconds=settings.notify_timer_horizon_seconds),
    )
    outcomes = Outcomes(
        deliveries=stores.deliveries,
        queue=stores.queue,
        publisher=channels.publisher,
        dead_letters=channels.dead_letters,
        scheduler=scheduler,
        policy=RetryPolicy(settings.notify_retry_base_seconds, settings.notify_retry_max_seconds),
        lease=lease,
    )
    email = EmailDelivery(
        clients=stores.clients,
        reads=stores.reads,
        mailer=channels.mailer,
        link_base_url=settings.notify_link_base_url,
    )
    push = PushDelivery(users=stores.users, reads=stores.reads, gateway=channels.push)
    attempts = Attempts(
        users=stores.users,
        push=push,
        email=email,
        outcomes=outcomes,
        scheduler=scheduler,
        lease_margin=timedelta(seconds=min(3 * timeout, settings.notify_lease_seconds / 2)),
    )
    shared = _Shared(
        deliveries=stores.deliveries,
        queue=stores.queue,
        users=stores.users,
        email=email,
        outcomes=outcomes,
        attempts=attempts,
        scheduler=scheduler,
    )
    jobs = Jobs(
        **shared,
        email_delay=timedelta(seconds=settings.notify_email_delay_seconds),
        lease=lease,
    )
    parts = Parts(
        **shared,
        push=push,
        lease=lease,
        push_batch=settings.notify_push_batch_size,
    )
    deps = Deps(
        jobs=jobs,
        parts=parts,
        fanout=FanOut(channels.publisher),
        projections=Projections(clients=stores.clients, reads=stores.reads),
        feed=LiveFeed(LiveHub(), stores.live_events),
        devices=Devices(stores.users),
        preferences=NotificationPreferences(stores.users),
        heartbeat_seconds=settings.notify_heartbeat_seconds,
    )
    recovery = Recovery(
        queue=stores.queue,
        jobs=jobs,
        parts=parts,
        scheduler=scheduler,
        lease=lease,
        batch=SWEEP_BATCH,
    )
    scheduler.revive_with(recovery.revive)
    return Service(deps=deps, scheduler=scheduler, recovery=recovery)


async def _stop_consuming(broker: KafkaBroker) -> None:
    """Stop taking new events; the producer stays up for the work still in flight."""
    await asyncio.gather(*(subscriber.stop() for subscriber in broker.subscribers))


def create_app(settings: NotifySettings | None = None) -> FastAPI:
    """Build the notify service; settings come from the environment unless given."""
    settings = settings or NotifySettings()  # type: ignore[call-arg]
    broker = create_broker(settings, client_id="notify")
    register_subscribers(broker, settings)
    declare_published(broker, NotificationRequested, DeliveryRecorded)

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with service_runtime(
            app, settings, broker, name="notify", database=settings.notify_database
        ) as runtime:
            producer = EventProducer(settings, source="/notify", client_id="notify-events")
            await producer.start()
            timeout = settings.notify_send_timeout_seconds
            gateway = PushGateway(
                settings, timeout=timeout, concurrency=settings.notify_send_concurrency
            )
            stores = Stores.of(runtime.db, settings)
            await stores.drop_legacy_indexes()
            channels = Channels(
                push=gateway,
                mailer=Mailer(settings, timeout=timeout),
                publisher=producer,
                dead_letters=DeadLetters(broker),
            )
            service = build_service(settings, stores, channels)
            app.state.deps = service.deps
            app.state.stores = stores
            broker.context.set_global("deps", service.deps)
            # Work this instance owned before a restart, and work of dead instances.
            await runtime.start(
                service.recovery.watch(
                    every=min(
                        settings.notify_lease_seconds / 4, settings.notify_sweep_interval_seconds
                    ),
                    sweep_every=settings.notify_sweep_interval_seconds,
                )
            )
            runtime.report(app, "due_work", service.scheduler.due_work)
            runtime.report(app, "held_work", service.scheduler.held_work)
            runtime.report(app, "soon_work", service.scheduler.soon_work)
            try:
                yield
            finally:
                await _stop_consuming(broker)
                await service.scheduler.stop(settings.notify_shutdown_grace_seconds)
                await producer.stop()
                await gateway.close()

    app = create_service_app(title="Notify", lifespan=lifespan, routers=routers, broker=broker)
    install_error_mapping(app)
    app.state.broker = broker
    return app
