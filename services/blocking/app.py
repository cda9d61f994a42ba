"""Composition root of the blocking service."""

import contextlib
from collections.abc import AsyncIterator

from fastapi import FastAPI

from services.blocking.api import PROBLEMS, router
from services.blocking.deps import Deps
from services.blocking.settings import BlockingSettings
from services.blocking.store import BlockStore, ClientDirectory
from services.blocking.subscribers import register_subscribers
from shared.events.audit import AccessRecorded
from shared.events.blocks import BlockChanged
from shared.kafka import create_broker, declare_published
from shared.outbox import Outbox
from shared.problems import install_domain_errors
from shared.service import create_service_app, service_runtime


def create_app(settings: BlockingSettings | None = None) -> FastAPI:
    """Build the blocking service; settings come from the environment unless given."""
    settings = settings or BlockingSettings()  # type: ignore[call-arg]
    broker = create_broker(settings, client_id="blocking")
    register_subscribers(broker, settings)
    declare_published(broker, BlockChanged, AccessRecorded)

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with service_runtime(
            app, settings, broker, name="blocking", database=settings.blocking_database
        ) as runtime:
            clients, blocks = ClientDirectory(runtime.db), BlockStore(runtime.db)
            outbox = Outbox(runtime.db, runtime.publisher)
            outbox.on("block", blocks.recover_events)
            for indexed in (clients, blocks, outbox):
                await indexed.ensure_indexes()
            deps = Deps(clients=clients, blocks=blocks, outbox=outbox, publisher=runtime.publisher)
            app.state.deps = deps
            broker.context.set_global("deps", deps)
            await broker.start()
            runtime.spawn(outbox.run())
            runtime.report(app, "outbox_backlog", outbox.backlog)
            yield

    app = create_service_app(title="Blocking", lifespan=lifespan, routers=[router], broker=broker)
    install_domain_errors(app, PROBLEMS)
    app.state.broker = broker
    return app
