"""The push gateway and SMTP stand-ins on fixed loopback ports, so a test can take them down."""

import asyncio
import contextlib
from collections.abc import AsyncIterator, Iterator

import uvicorn
from aiosmtpd.controller import Controller

from tests.receivers import PushGatewayStub, SmtpStub, free_port


class PushGatewayServer:
    """A `PushGatewayStub` served on one port; stopped, nothing listens there (refused)."""

    def __init__(self) -> None:
        self.stub = PushGatewayStub()
        self.port = free_port()
        self.stub.url = f"http://127.0.0.1:{self.port}/_matrix/push/v1/notify"
        self._server: uvicorn.Server | None = None
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        """Listen (again) on the same port."""
        config = uvicorn.Config(
            self.stub.app(), host="127.0.0.1", port=self.port, lifespan="off", log_level="warning"
        )
        self._server = uvicorn.Server(config)
        self._task = asyncio.create_task(self._server.serve())
        while not self._server.started:
            if self._task.done():
                self._task.result()  # raises why it could not listen
            await asyncio.sleep(0.01)

    async def stop(self) -> None:
        """Close the listener and every connection."""
        if self._server is None or self._task is None:
            return
        self._server.should_exit = True
        self._server.force_exit = True
        await self._task
        self._server = self._task = None


class SmtpServer:
    """An `SmtpStub` whose listener can be closed and opened again on the same port."""

    def __init__(self) -> None:
        self.stub = SmtpStub()

    @property
    def port(self) -> int:
        return self.stub.port

    def start(self) -> None:
        """Listen (again); aiosmtpd closes a controller's loop on stop, so make a new one."""
        self.stub.controller = Controller(self.stub, hostname="127.0.0.1", port=self.stub.port)
        self.stub.controller.start()

    def stop(self) -> None:
        """Close the listener."""
        self.stub.controller.stop()


@contextlib.asynccontextmanager
async def push_gateway_server() -> AsyncIterator[PushGatewayServer]:
    """A restartable push gateway for the duration of the block."""
    server = PushGatewayServer()
    await server.start()
    try:
        yield server
    finally:
        await server.stop()


@contextlib.contextmanager
def smtp_server() -> Iterator[SmtpServer]:
    """A restartable SMTP server for the duration of the block."""
    server = SmtpServer()
    server.start()
    try:
        yield server
    finally:
        with contextlib.suppress(AssertionError, RuntimeError):
            server.stop()
