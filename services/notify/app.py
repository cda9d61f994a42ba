"""Composition root of the notify service."""

import asyncio
import contextlib
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

from fastapi import FastAPI
from faststream.kafka import KafkaBroker

from services.notify.api import routers
from services.notify.channels.email import Mailer
from services.notify.channels.events import EventProducer
from services.notify.channels.live import LiveHub
from services.notify.channels.push import PushGateway
from services.notify.dead_letters import DeadLetters
from services.notify.deps import Deps
from services.notify.dispatcher import Dispatcher
from services.notify.domain import RetryPolicy
from services.notify.handlers.delivery import DeliveryTools
from services.notify.handlers.live import LiveFeed
from services.notify.handlers.recovery import sweep, sweep_forever
from services.notify.handlers.scheduler import Scheduler
from services.notify.settings import NotifySettings
from services.notify.store.deliveries import Deliveries
from services.notify.store.live_events import LiveEvents
from services.notify.store.projections import ClientEmails, ReadState
from services.notify.store.queue import WorkQueue
from services.notify.store.users import Users
from services.notify.subscribers import register_subscribers
from shared.events.notify import DeliveryRecorded, NotificationRequested
from shared.kafka import create_broker, declare_published
from shared.service import create_service_app, service_runtime


def _delivery_tools(
    settings: NotifySettings, db: Any, publisher: EventProducer, dead_letters: DeadLetters
) -> DeliveryTools:
    timeout = settings.notify_send_timeout_seconds
    concurrency = settings.notify_send_concurrency
    return DeliveryTools(
        deliveries=Deliveries(db),
        queue=WorkQueue(db),
        users=Users(db),
        clients=ClientEmails(db),
        reads=ReadState(db),
        push=PushGateway(settings, timeout=timeout, concurrency=concurrency),
        mailer=Mailer(settings, timeout=timeout),
        publisher=publisher,
        dead_letters=dead_letters,
        policy=RetryPolicy(settings.notify_retry_base_seconds, settings.notify_retry_max_seconds),
        link_base_url=settings.notify_link_base_url,
        email_delay=timedelta(seconds=settings.notify_email_delay_seconds),
        lease=timedelta(seconds=settings.notify_lease_seconds),
        lease_margin=timedelta(seconds=min(3 * timeout, settings.notify_lease_seconds / 2)),
        push_batch=settings.notify_push_batch_size,
    )


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
            tools = _delivery_tools(settings, runtime.db, producer, DeadLetters(broker))
            live_events = LiveEvents(runtime.db, retention=settings.notify_live_retention)
            for legacy in (tools.deliveries, tools.queue, live_events):
                await legacy.drop_legacy_indexes()
            scheduler = Scheduler(
                owner=settings.notify_instance_id,
                queue=tools.queue,
                dispatcher=Dispatcher(settings.notify_send_concurrency),
                release_horizon=tools.lease,
            )
            deps = Deps(
                users=tools.users,
                clients=tools.clients,
                reads=tools.reads,
                tools=tools,
                scheduler=scheduler,
                feed=LiveFeed(LiveHub(), live_events),
                publisher=producer,
                heartbeat_seconds=settings.notify_heartbeat_seconds,
            )
            app.state.deps = deps
            broker.context.set_global("deps", deps)
            await broker.start()
            # Work this instance owned before a restart, and work of dead instances.
            await sweep(tools=tools, scheduler=scheduler, at_start=True)
            runtime.spawn(
                sweep_forever(
                    tools=tools,
                    scheduler=scheduler,
                    interval=settings.notify_sweep_interval_seconds,
                )
            )
            try:
                yield
            finally:
                await _stop_consuming(broker)
                await scheduler.stop(settings.notify_shutdown_grace_seconds)
                await producer.stop()
                await tools.push.close()

    app = create_service_app(title="Notify", lifespan=lifespan, routers=routers, broker=broker)
    app.state.broker = broker
    return app
