"""A blocking service running on the real infrastructure, isolated per test module."""

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from services.blocking.app import create_app
from services.blocking.deps import Deps
from services.blocking.settings import BlockingSettings
from shared import topics
from tests.support import base_settings, eventually, publish_json, running, unique


def blocking_settings(**overrides: Any) -> BlockingSettings:
    """Settings with a database of its own."""
    return BlockingSettings(
        **base_settings(blocking_database=unique("test_blocking_"), **overrides)
    )


@dataclass(frozen=True)
class Blocking:
    """A running blocking service: its HTTP client and its wiring."""

    http: httpx.AsyncClient
    app: FastAPI

    @property
    def deps(self) -> Deps:
        """The use cases the lifespan bound."""
        deps: Deps = self.app.state.deps
        return deps


@pytest.fixture(scope="module")
async def blocking() -> AsyncIterator[Blocking]:
    """A running blocking service."""
    app = create_app(blocking_settings())
    async with running(app) as client:
        yield Blocking(client, app)


async def add_clients(service: Blocking, *records: dict[str, object]) -> list[str]:
    """Publish client records and wait until the service's projection has them all."""
    for record in records:
        await publish_json(topics.PRACTICE_CLIENTS, str(record["client_id"]), record)

    async def projected() -> bool:
        for record in records:
            found = await service.deps.block_lists.clients.get(
                str(record["practice_id"]), str(record["client_id"])
            )
            if found is None or found.last_name != record["last_name"]:
                return False
        return True

    await eventually(projected)
    return [str(r["client_id"]) for r in records]
