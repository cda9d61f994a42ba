"""Composition root of the notify service."""

import contextlib
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

from fastapi import FastAPI

from services.notify.api import routers
from services.notify.channels.email import Mailer
from services.notify.channels.live import LiveHub
from services.notify.channels.push import PushGateway
from services.notify.dead_letters import DeadLetters
from services.notify.deps import Deps
from services.notify.dispatcher import Dispatcher
from services.notify.domain import RetryPolicy
from services.notify.handlers.delivery import DeliveryTools
from services.notify.handlers.live import LiveFeed
from services.notify.handlers.scheduler import run_scheduler
from services.notify.settings import NotifySettings
from services.notify.store.deliveries import Deliveries
from services.notify.store.live_events import LiveEvents
from services.notify.store.projections import ClientEmails, ReadState
from services.notify.store.users import Users
from services.notify.subscribers import register_subscribers
from shared.events.notify import DeliveryRecorded, NotificationRequested
from shared.ids import new_id
from shared.kafka import EventPublisher, create_broker, declare_published
from shared.service import create_service_app, service_runtime


def _delivery_tools(
    settings: NotifySettings, db: Any, publisher: EventPublisher, dead_letters: DeadLetters
) -> DeliveryTools:
    timeout = settings.notify_send_timeout_seconds
    return DeliveryTools(
        deliveries=Deliveries(db),
        users=Users(db),
        clients=ClientEmails(db),
        reads=ReadState(db),
        push=PushGateway(settings, timeout=timeout),
        mailer=Mailer(settings, timeout=timeout),
        publisher=publisher,
        dead_letters=dead_letters,
        policy=RetryPolicy(settings.notify_retry_base_seconds, settings.notify_retry_max_seconds),
        link_base_url=settings.notify_link_base_url,
        email_delay=timedelta(seconds=settings.notify_email_delay_seconds),
        lease=timedelta(seconds=settings.notify_lease_seconds),
        lease_margin=timedelta(seconds=min(3 * timeout, settings.notify_lease_seconds / 2)),
    )


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
            tools = _delivery_tools(settings, runtime.db, runtime.publisher, DeadLetters(broker))
            live_events = LiveEvents(runtime.db, retention=settings.notify_live_retention)
            await tools.deliveries.ensure_indexes()
            await live_events.ensure_indexes()
            dispatcher = Dispatcher(settings.notify_send_concurrency)
            deps = Deps(
                users=tools.users,
                clients=tools.clients,
                reads=tools.reads,
                tools=tools,
                dispatcher=dispatcher,
                feed=LiveFeed(LiveHub(), live_events),
                publisher=runtime.publisher,
                heartbeat_seconds=settings.notify_heartbeat_seconds,
            )
            app.state.deps = deps
            broker.context.set_global("deps", deps)
            await broker.start()
            runtime.spawn(
                run_scheduler(
                    owner=f"notify-{new_id()}",
                    tools=tools,
                    dispatcher=dispatcher,
                    interval=settings.notify_scheduler_interval_seconds,
                )
            )
            try:
                yield
            finally:
                await broker.stop()  # no new jobs while in-flight attempts are cancelled
                await dispatcher.close()
                await tools.push.close()

    app = create_service_app(title="Notify", lifespan=lifespan, routers=routers, broker=broker)
    app.state.broker = broker
    return app
