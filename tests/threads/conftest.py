"""A threads service running on the real infrastructure, isolated per test module."""

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from services.threads.app import create_app
from services.threads.settings import ThreadsSettings
from tests.support import base_settings, running, unique


def threads_settings(**overrides: Any) -> ThreadsSettings:
    """Settings with a database of its own."""
    return ThreadsSettings(**base_settings(threads_database=unique("test_threads_"), **overrides))


@pytest.fixture(scope="module")
async def threads() -> AsyncIterator[httpx.AsyncClient]:
    """HTTP client of a running threads service."""
    async with running(create_app(threads_settings())) as client:
        yield client
