"""A threads service running on the real infrastructure, isolated per test module."""

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from services.threads.app import create_app
from services.threads.deps import Deps
from services.threads.settings import ThreadsSettings
from tests.support import base_settings, running, unique


def threads_settings(**overrides: Any) -> ThreadsSettings:
    """Settings with a database of its own.

    The send limit stays on but roomy: functional tests send in volume, and
    test_rate_limits.py sets the limits it tests.
    """
    values: dict[str, Any] = {"threads_database": unique("test_threads_")}
    values["rate_limit_sends_burst"] = 1000
    return ThreadsSettings(**base_settings(**{**values, **overrides}))


@pytest.fixture(scope="module")
async def service() -> AsyncIterator[tuple[FastAPI, httpx.AsyncClient]]:
    """A running threads service and an HTTP client for it."""
    app = create_app(threads_settings())
    async with running(app) as client:
        yield app, client


@pytest.fixture(scope="module")
def threads(service: tuple[FastAPI, httpx.AsyncClient]) -> httpx.AsyncClient:
    """HTTP client of a running threads service."""
    return service[1]


@pytest.fixture(scope="module")
def deps(service: tuple[FastAPI, httpx.AsyncClient]) -> Deps:
    """The running service's collaborators (stores, outboxes), for white-box checks."""
    app_deps: Deps = service[0].state.deps
    return app_deps
