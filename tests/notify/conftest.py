"""A notify service on the real infrastructure, with a local push gateway and SMTP server."""

from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from services.notify.app import Stores, create_app
from services.notify.deps import Deps
from services.notify.domain import FINAL_STATUSES, Delivery, delivery_id
from services.notify.settings import NotifySettings
from tests.receivers import PushGatewayStub, SmtpStub, push_gateway, serve, smtp_server
from tests.support import base_settings, running, unique


@dataclass
class Notify:
    """A running notify service and the fakes it talks to."""

    app: FastAPI
    http: httpx.AsyncClient
    gateway: PushGatewayStub
    smtp: SmtpStub

    @property
    def deps(self) -> Deps:
        """The service's use cases."""
        deps: Deps = self.app.state.deps
        return deps

    @property
    def stores(self) -> Stores:
        """The service's stores, for setting up and checking state."""
        stores: Stores = self.app.state.stores
        return stores


async def settled(
    notify: Notify, source_id: str, recipient_id: str, channel: str
) -> Delivery | None:
    """The delivery record of one channel to one recipient, once it has its final outcome."""
    record = await notify.stores.deliveries.get(delivery_id(source_id, recipient_id, channel))  # type: ignore[arg-type]
    return record if record is not None and record.status in FINAL_STATUSES else None


def notify_settings(gateway_url: str, smtp_port: int, **overrides: Any) -> NotifySettings:
    """Fast timings, a database of its own, and the local fakes."""
    values: dict[str, Any] = {
        "notify_database": unique("test_notify_"),
        "push_gateway_url": gateway_url,
        "smtp_host": "127.0.0.1",
        "smtp_port": smtp_port,
        "smtp_tls": False,
        "notify_email_delay_seconds": 1.0,
        "notify_retry_base_seconds": 0.05,
        "notify_retry_max_seconds": 2.0,
        # Work runs on timers; the sweep only matters for the takeover tests, which set it.
        "notify_instance_id": unique("notify-"),
        "notify_send_timeout_seconds": 2.0,
        "notify_heartbeat_seconds": 1.0,
        # One delivery worker joins its group at once; several rebalance for seconds.
        "notify_delivery_consumers": 1,
        **overrides,
    }
    return NotifySettings(**base_settings(**values))


@pytest.fixture(scope="module")
def smtp() -> Iterator[SmtpStub]:
    """A local SMTP server (plain text: SMTP_TLS=false in tests)."""
    with smtp_server() as stub:
        yield stub


@pytest.fixture(scope="module")
async def gateway() -> AsyncIterator[PushGatewayStub]:
    """A local Matrix push gateway."""
    async with push_gateway() as stub:
        yield stub


@pytest.fixture(scope="module")
def notify_overrides() -> dict[str, Any]:
    """Settings a test module changes (override the fixture in the module)."""
    return {}


@pytest.fixture(scope="module")
async def notify(
    gateway: PushGatewayStub, smtp: SmtpStub, notify_overrides: dict[str, Any]
) -> AsyncIterator[Notify]:
    """A running notify service."""
    app = create_app(notify_settings(gateway.url, smtp.port, **notify_overrides))
    async with running(app) as http:
        yield Notify(app=app, http=http, gateway=gateway, smtp=smtp)


@pytest.fixture(scope="module")
async def notify_url(notify: Notify) -> AsyncIterator[str]:
    """The same service over TCP, for streaming responses (Server-Sent Events)."""
    async with serve(notify.app) as url:
        yield url
