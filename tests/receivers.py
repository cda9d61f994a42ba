"""Local stand-ins for the outside world: a Matrix push gateway and an SMTP server.

Both listen on 127.0.0.1 only and record everything they receive, so tests can check
that every notification arrived exactly once and carried no PHI.
"""

import asyncio
import contextlib
import logging
import socket
import threading
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from email import message_from_bytes
from email.message import Message
from typing import Any

import uvicorn
from aiosmtpd.controller import Controller
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.asynccontextmanager
async def serve(app: Any, *, lifespan: str = "off") -> AsyncIterator[str]:
    """Serve an ASGI app over TCP on 127.0.0.1; yields its base URL."""
    port = free_port()
    config = uvicorn.Config(
        app, host="127.0.0.1", port=port, lifespan=lifespan, log_level="warning"
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    while not server.started:
        await asyncio.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task


@dataclass
class PushGatewayStub:
    """Records every push; can fail (503) or reject pushkeys on demand."""

    url: str = ""
    requests: list[dict[str, Any]] = field(default_factory=list)
    failures_left: dict[str, int] = field(default_factory=dict)
    rejecting: set[str] = field(default_factory=set)
    raw_bodies: list[bytes] = field(default_factory=list)

    def fail(self, pushkey: str, times: int = -1) -> None:
        """Answer 503 for requests carrying this pushkey (`times` times; -1 forever)."""
        self.failures_left[pushkey] = times

    def reject(self, pushkey: str) -> None:
        """Report this pushkey as rejected."""
        self.rejecting.add(pushkey)

    def pushes_to(self, pushkey: str) -> list[dict[str, Any]]:
        """Accepted notifications that reached a pushkey."""
        return [
            r
            for r in self.requests
            if any(d["pushkey"] == pushkey for d in r["notification"]["devices"])
        ]

    def pushkeys(self) -> list[str]:
        """Every pushkey notified, once per accepted notification."""
        return [d["pushkey"] for r in self.requests for d in r["notification"]["devices"]]

    def app(self) -> FastAPI:
        """The gateway's HTTP face (`POST /_matrix/push/v1/notify`)."""
        api = FastAPI()

        @api.post("/_matrix/push/v1/notify")
        async def notify(request: Request) -> JSONResponse:
            raw = await request.body()
            self.raw_bodies.append(raw)
            body = await request.json()
            keys = [d["pushkey"] for d in body["notification"]["devices"]]
            for key in keys:
                left = self.failures_left.get(key, 0)
                if left != 0:
                    self.failures_left[key] = left - 1 if left > 0 else left
                    return JSONResponse({"error": "unavailable"}, status_code=503)
            self.requests.append(body)
            return JSONResponse({"rejected": [k for k in keys if k in self.rejecting]})

        return api


class SmtpStub:
    """An aiosmtpd server in a thread that keeps every message it receives."""

    def __init__(self) -> None:
        self.messages: list[tuple[list[str], Message, bytes]] = []
        self._lock = threading.Lock()
        self.port = free_port()
        self.controller = Controller(self, hostname="127.0.0.1", port=self.port)
        logging.getLogger("mail.log").setLevel(logging.WARNING)  # it logs addresses

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        """aiosmtpd hook: record the message."""
        raw = bytes(envelope.content)
        with self._lock:
            self.messages.append((list(envelope.rcpt_tos), message_from_bytes(raw), raw))
        return "250 OK"

    def to(self, address: str) -> list[Message]:
        """Messages delivered to an address."""
        with self._lock:
            return [m for rcpts, m, _ in self.messages if address in rcpts]

    def raw(self) -> list[bytes]:
        """Every message as received."""
        with self._lock:
            return [raw for _, _, raw in self.messages]


@contextlib.asynccontextmanager
async def push_gateway() -> AsyncIterator[PushGatewayStub]:
    """A push gateway served on a free loopback port for the duration of the block."""
    stub = PushGatewayStub()
    async with serve(stub.app()) as url:
        stub.url = f"{url}/_matrix/push/v1/notify"
        yield stub


@contextlib.contextmanager
def smtp_server() -> Iterator[SmtpStub]:
    """An SMTP server on a free loopback port (plain SMTP: tests set SMTP_TLS=false)."""
    stub = SmtpStub()
    stub.controller.start()
    try:
        yield stub
    finally:
        stub.controller.stop()
