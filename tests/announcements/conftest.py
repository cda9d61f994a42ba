"""An announcements service running on the real infrastructure, isolated per test module."""

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from services.announcements.app import create_app
from services.announcements.deps import Deps
from services.announcements.settings import AnnouncementsSettings
from shared.mongo import create_mongo_client
from shared.outbox import Outbox
from shared.settings import MongoSettings
from tests.support import base_settings, infra_env, running, unique


def announcements_settings(**overrides: Any) -> AnnouncementsSettings:
    """Settings with a database of its own."""
    return AnnouncementsSettings(
        **base_settings(announcements_database=unique("test_announcements_"), **overrides)
    )


@dataclass(frozen=True)
class Service:
    """A running service: its HTTP client, the use cases it bound and its outbox."""

    http: httpx.AsyncClient
    deps: Deps
    database: str
    outbox: Outbox


@pytest.fixture(scope="module")
def settings_overrides() -> dict[str, Any]:
    """Per-module settings changes; a test module overrides this fixture to change them."""
    return {}


@pytest.fixture(scope="module")
async def service(settings_overrides: dict[str, Any]) -> AsyncIterator[Service]:
    """A running announcements service."""
    settings = announcements_settings(**settings_overrides)
    app = create_app(settings)
    async with running(app) as client:
        yield Service(
            http=client,
            deps=app.state.deps,
            database=settings.announcements_database,
            outbox=app.state.outbox,
        )


async def raw_announcement(service: Service, announcement_id: str) -> dict[str, Any] | None:
    """The stored document of an announcement, as the database holds it."""
    mongo = create_mongo_client(MongoSettings(mongodb_url=infra_env()["mongodb_url"]))
    try:
        doc: dict[str, Any] | None = await mongo[service.database]["announcements"].find_one(
            {"_id": announcement_id}
        )
        return doc
    finally:
        await mongo.close()
