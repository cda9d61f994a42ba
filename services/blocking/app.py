"""Composition root of the blocking service."""

import contextlib
from collections.abc import AsyncIterator
from typing import Any

from fastapi import FastAPI

from services.blocking.api import install_error_mapping, router
from services.blocking.deps import Deps
from services.blocking.handlers import BLOCK_INTENT, BlockLists, ClientProjection, ListProjection
from services.blocking.settings import BlockingSettings
from services.blocking.store import BlockListStore, BlockStore, ClientDirectory
from services.blocking.subscribers import register_subscribers
from shared import topics
from shared.events.audit import AccessRecorded
from shared.events.blocks import BlockChanged
from shared.kafka import EventPublisher, create_broker, declare_published
from shared.outbox import Outbox
from shared.service import create_service_app, service_runtime


async def build(db: Any, publisher: EventPublisher) -> tuple[Deps, Outbox]:
    """Wire stores, the outbox and its recovery, and the use cases on one database."""
    clients, blocks = ClientDirectory(db), BlockStore(db)
    lists = BlockListStore(db, partitions=topics.partitions_of(topics.MESSAGING_BLOCKS))
    outbox = Outbox(db, publisher)
    for indexed in (clients, blocks, outbox):
        await indexed.ensure_indexes()
    block_lists = BlockLists(clients=clients, blocks=blocks, lists=lists, outbox=outbox)
    outbox.on(BLOCK_INTENT, block_lists.recover)
    deps = Deps(
        block_lists=block_lists,
        client_projection=ClientProjection(clients=clients),
        list_projection=ListProjection(lists=lists),
    )
    return deps, outbox


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
            deps, outbox = await build(runtime.db, runtime.publisher)
            app.state.deps = deps
            broker.context.set_global("deps", deps)
            await runtime.start(outbox.run())
            runtime.report(app, "outbox_backlog", outbox.backlog)
            yield
            await outbox.close()  # publishes in flight finish before the broker stops

    app = create_service_app(title="Blocking", lifespan=lifespan, routers=[router], broker=broker)
    install_error_mapping(app)
    app.state.broker = broker
    return app
