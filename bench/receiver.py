"""The outside world the stack talks to during a benchmark: a Matrix push gateway and an SMTP sink.

Both are raw asyncio servers on 127.0.0.1 (no framework), so ten thousand pushes cost the
receiver little. The push gateway records the arrival time of every pushkey and answers
`{"rejected": []}`; waiters can ask to be told when a pushkey arrives.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections import defaultdict
from collections.abc import Callable

PUSH_PATH = "/_matrix/push/v1/notify"
_OK = (
    b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 15\r\n\r\n"
    b'{"rejected":[]}'
)
_NOT_FOUND = b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n"


class PushReceiver:
    """Records pushes: per pushkey the arrival times, and every notification's event id."""

    def __init__(self) -> None:
        self.port = 0
        self.requests = 0
        self.arrivals: dict[str, list[float]] = defaultdict(list)
        self.event_ids: dict[str, float] = {}
        self.listeners: list[Callable[[str, str, float], None]] = []
        self._server: asyncio.base_events.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()

    @property
    def url(self) -> str:
        """What PUSH_GATEWAY_URL (or a Matrix pusher's data.url) must be."""
        return f"http://127.0.0.1:{self.port}{PUSH_PATH}"

    def count_with_prefix(self, prefix: str) -> int:
        """Distinct pushkeys starting with `prefix` that received at least one push."""
        return sum(1 for k in self.arrivals if k.startswith(prefix))

    def pushes_with_prefix(self, prefix: str) -> int:
        """Pushes (not distinct) to pushkeys starting with `prefix`."""
        return sum(len(v) for k, v in self.arrivals.items() if k.startswith(prefix))

    async def start(self) -> None:
        """Listen on a free loopback port."""
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", 0, backlog=1024)
        self.port = self._server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        """Stop listening and close open connections."""
        if self._server is not None:
            self._server.close()
            for writer in list(self._writers):
                writer.close()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._server.wait_closed(), 2)

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._writers.add(writer)
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = 0
                for line in head.split(b"\r\n")[1:]:
                    name, _, value = line.partition(b":")
                    if name.strip().lower() == b"content-length":
                        length = int(value)
                body = await reader.readexactly(length) if length else b""
                now = time.perf_counter()
                if not head.startswith(b"POST " + PUSH_PATH.encode()):
                    writer.write(_NOT_FOUND)
                    continue
                self.requests += 1
                writer.write(_OK)
                try:
                    notification = json.loads(body)["notification"]
                except (ValueError, KeyError, TypeError):
                    continue
                event_id = str(notification.get("event_id") or "")
                if event_id:
                    self.event_ids.setdefault(event_id, now)
                for device in notification.get("devices") or []:
                    key = str(device.get("pushkey"))
                    self.arrivals[key].append(now)
                    for listener in self.listeners:
                        listener(key, event_id, now)
        except (
            asyncio.IncompleteReadError,
            ConnectionError,
            asyncio.LimitOverrunError,
            asyncio.CancelledError,
        ):
            pass
        finally:
            self._writers.discard(writer)
            writer.close()


class SmtpSink:
    """Accepts any mail and keeps only a count (nothing a message says is stored)."""

    def __init__(self) -> None:
        self.port = 0
        self.messages = 0
        self._server: asyncio.base_events.Server | None = None

    async def start(self) -> None:
        """Listen on a free loopback port."""
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        """Stop listening."""
        if self._server is not None:
            self._server.close()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(b"220 bench ESMTP\r\n")
        try:
            while True:
                line = await reader.readline()
                if not line:
                    break
                verb = line[:4].upper()
                if verb in (b"EHLO", b"HELO"):
                    writer.write(b"250-bench\r\n250 8BITMIME\r\n")
                elif verb == b"DATA":
                    writer.write(b"354 go ahead\r\n")
                    while (await reader.readline()) not in (b".\r\n", b".\n", b""):
                        pass
                    self.messages += 1
                    writer.write(b"250 OK\r\n")
                elif verb == b"QUIT":
                    writer.write(b"221 bye\r\n")
                    break
                else:
                    writer.write(b"250 OK\r\n")
                await writer.drain()
        except (ConnectionError, asyncio.CancelledError):
            pass
        finally:
            writer.close()
