"""Local stand-ins for the outside world: a Matrix push gateway and an SMTP server.

Both listen on 127.0.0.1 only and record everything they receive, so tests can check
that every notification arrived exactly once and carried no PHI.
"""

import asyncio
import contextlib
import socket
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from email import message_from_bytes
from email.message import Message
from typing import Any

import uvicorn
from aiosmtpd.controller import Controller
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@dataclass
class PushGateway:
    """Records Matrix push notifications; can fail or reject pushkeys on demand."""

    url: str = ""
    received: list[dict[str, Any]] = field(default_factory=list)
    fail_next: int = 0
    rejected: set[str] = field(default_factory=set)

    async def notify(self, request: Request) -> JSONResponse:
        payload = await request.json()
        if self.fail_next > 0:
            self.fail_next -= 1
            return JSONResponse({"error": "unavailable"}, status_code=503)
        self.received.append(payload)
        keys = [d["pushkey"] for d in payload["notification"]["devices"]]
        return JSONResponse({"rejected": [k for k in keys if k in self.rejected]})

    def pushkeys(self) -> list[str]:
        """Every pushkey notified, once per notification received."""
        return [d["pushkey"] for p in self.received for d in p["notification"]["devices"]]


@contextlib.asynccontextmanager
async def push_gateway() -> AsyncIterator[PushGateway]:
    """A push gateway on a free loopback port, for the duration of the block."""
    gateway = PushGateway()
    port = free_port()
    app = Starlette(routes=[Route("/_matrix/push/v1/notify", gateway.notify, methods=["POST"])])
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    task = asyncio.create_task(server.serve())
    while not server.started:
        await asyncio.sleep(0.01)
    gateway.url = f"http://127.0.0.1:{port}/_matrix/push/v1/notify"
    try:
        yield gateway
    finally:
        server.should_exit = True
        await task


class _Inbox:
    def __init__(self) -> None:
        self.messages: list[Message] = []
        self.raw: list[bytes] = []

    async def handle_DATA(self, server: object, session: object, envelope: Any) -> str:
        self.raw.append(envelope.content)
        self.messages.append(message_from_bytes(envelope.content))
        return "250 OK"


@dataclass
class SmtpServer:
    """Records every email it accepts."""

    host: str
    port: int
    inbox: _Inbox

    @property
    def messages(self) -> list[Message]:
        return self.inbox.messages

    @property
    def raw(self) -> list[bytes]:
        return self.inbox.raw


@contextlib.contextmanager
def smtp_server() -> Any:
    """An aiosmtpd server on a free loopback port (plain SMTP: tests set SMTP_TLS=false)."""
    inbox = _Inbox()
    port = free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield SmtpServer("127.0.0.1", port, inbox)
    finally:
        controller.stop()
