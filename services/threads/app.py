"""Composition root of the threads service."""

import contextlib
from collections.abc import AsyncIterator

from fastapi import FastAPI

from services.threads.api import router
from services.threads.deps import Deps
from services.threads.settings import ThreadsSettings
from services.threads.store import ClientDirectory
from services.threads.subscribers import register_subscribers
from shared.kafka import create_broker
from shared.service import create_service_app, service_runtime


def create_app(settings: ThreadsSettings | None = None) -> FastAPI:
    """Build the threads service; settings come from the environment unless given."""
    settings = settings or ThreadsSettings()  # type: ignore[call-arg]
    broker = create_broker(settings, client_id="threads")
    register_subscribers(broker, settings)

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with service_runtime(
            app, settings, broker, name="threads", database=settings.threads_database
        ) as runtime:
            clients = ClientDirectory(runtime.db)
            await clients.ensure_indexes()
            deps = Deps(clients=clients, publisher=runtime.publisher)
            app.state.deps = deps
            broker.context.set_global("deps", deps)
            await broker.start()
            yield

    app = create_service_app(title="Threads", lifespan=lifespan, routers=[router], broker=broker)
    app.state.broker = broker
    return app
