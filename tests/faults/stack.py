"""A stack of the four services on some broker and database, with receivers to check."""

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import httpx
from pymongo import AsyncMongoClient

from tests.faults.processes import SERVICES, ServiceProcess
from tests.faults.receivers import PushGatewayServer, SmtpServer

T = TypeVar("T")


@dataclass
class Stack:
    """Running service instances (the first of each by name), their infrastructure, receivers."""

    run_id: str
    kafka: str
    mongo: str
    env: dict[str, str]
    logs: Path
    push: PushGatewayServer
    smtp: SmtpServer
    services: dict[str, ServiceProcess] = field(default_factory=dict)
    extra: list[ServiceProcess] = field(default_factory=list)
    _mongo_client: Any = None

    @classmethod
    def create(
        cls,
        *,
        run_id: str,
        kafka: str,
        mongo: str,
        env: dict[str, str],
        logs: Path,
        push: PushGatewayServer,
        smtp: SmtpServer,
    ) -> "Stack":
        logs.mkdir(parents=True, exist_ok=True)
        stack = cls(run_id, kafka, mongo, env, logs, push, smtp)
        for name in SERVICES:
            stack.services[name] = ServiceProcess(name, env, logs / f"{name}.log")
        return stack

    def url(self, name: str) -> str:
        return self.services[name].url

    def http(self, name: str, timeout: float = 15) -> httpx.AsyncClient:
        """A client for the current instance of a service."""
        return httpx.AsyncClient(base_url=self.services[name].url, timeout=timeout)

    def add_instance(self, name: str) -> ServiceProcess:
        """Another instance of a service: same databases and groups, its own port and log."""
        instance = ServiceProcess(name, self.env, self.logs / f"{name}-{len(self.extra) + 2}.log")
        self.extra.append(instance)
        return instance

    def all_processes(self) -> list[ServiceProcess]:
        return [*self.services.values(), *self.extra]

    async def start(self) -> None:
        for service in self.services.values():
            service.start()
        await self.wait_ready()

    async def wait_ready(self, timeout: float = 180) -> None:
        await asyncio.gather(*(s.wait_ready(timeout) for s in self.services.values()))

    def stop(self) -> None:
        """Stop every instance this stack started, by PID."""
        for service in self.all_processes():
            service.terminate(timeout=25)
        if self._mongo_client is not None:
            self._mongo_client = None

    def db(self, name: str) -> Any:
        """A service's own database, for checks a test cannot make over HTTP."""
        if self._mongo_client is None:
            self._mongo_client = AsyncMongoClient(self.mongo, tz_aware=True)
        return self._mongo_client[f"{self.run_id}_{name}"]


async def wait_for(
    check: Callable[[], Awaitable[T]], *, timeout: float, interval: float = 0.25, what: str = ""
) -> T:
    """Poll `check` until it returns something truthy; fail with its last answer."""
    started = time.monotonic()
    last: T | None = None
    while True:
        last = await check()
        if last:
            return last
        if time.monotonic() - started > timeout:
            raise AssertionError(f"{what or 'condition'} not met within {timeout}s; last: {last!r}")
        await asyncio.sleep(interval)


async def quiet(count: Callable[[], int], *, still: float = 1.0, timeout: float = 15.0) -> int:
    """Wait (bounded) until `count` has not changed for `still` seconds; its value then."""
    started = time.monotonic()
    value, since = count(), time.monotonic()
    while time.monotonic() - since < still:
        if time.monotonic() - started > timeout:
            raise AssertionError(f"still changing after {timeout}s: {value}")
        await asyncio.sleep(0.05)
        if (now := count()) != value:
            value, since = now, time.monotonic()
    return value


def figures(number: int, title: str, **values: object) -> None:
    """Print a test's figures on one line (visible with -s)."""
    shown = "  ".join(
        f"{k}={v:.2f}" if isinstance(v, float) else f"{k}={v}" for k, v in values.items()
    )
    print(f"\n[fault {number}] {title}: {shown}", flush=True)
