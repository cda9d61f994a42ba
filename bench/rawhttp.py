"""A minimal keep-alive HTTP/1.1 client on asyncio streams, so the load client stays cheap.

Requests are built by hand; responses are parsed just enough (status, Content-Length or
chunked body). Used by the load workers, the setup code and the SSE readers.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from typing import Any, TypeVar

HOST = "127.0.0.1"
T = TypeVar("T")


class HttpError(Exception):
    """The connection failed or the response could not be parsed."""


def build_request(
    method: str, path: str, port: int, *, headers: str = "", body: bytes | None = None
) -> bytes:
    """The bytes of one request; `headers` are extra lines, each ending in CRLF."""
    head = f"{method} {path} HTTP/1.1\r\nHost: {HOST}:{port}\r\n{headers}"
    if body is not None:
        head += f"Content-Length: {len(body)}\r\n"
    elif method in ("POST", "PUT"):
        head += "Content-Length: 0\r\n"
    return (head + "\r\n").encode() + (body or b"")


def auth_header(token: str | None) -> str:
    """An Authorization line (or nothing)."""
    return f"Authorization: Bearer {token}\r\n" if token else ""


JSON_HEADER = "Content-Type: application/json\r\n"


async def read_response(
    reader: asyncio.StreamReader, method: str = "GET"
) -> tuple[int, bytes, bool]:
    """Status, body and whether the server closes the connection."""
    head = await reader.readuntil(b"\r\n\r\n")
    try:
        status = int(head[9:12])
    except ValueError as error:
        raise HttpError(f"bad status line {head[:40]!r}") from error
    length: int | None = None
    chunked = False
    close = False
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        name = name.strip().lower()
        if name == b"content-length":
            length = int(value)
        elif name == b"transfer-encoding":
            chunked = b"chunked" in value.lower()
        elif name == b"connection":
            close = b"close" in value.lower()
    if method == "HEAD" or status in (204, 304) or 100 <= status < 200:
        return status, b"", close
    if chunked:
        parts = []
        while True:
            size = int((await reader.readuntil(b"\r\n")).split(b";")[0], 16)
            if size == 0:
                await reader.readuntil(b"\r\n")
                break
            parts.append(await reader.readexactly(size))
            await reader.readexactly(2)
        return status, b"".join(parts), close
    if length is not None:
        return status, await reader.readexactly(length), close
    return status, await reader.read(), True


class Conn:
    """One keep-alive connection to 127.0.0.1:port; reconnects after a close or an error."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def connect(self) -> None:
        """Open the TCP connection (idempotent)."""
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection(HOST, self.port)

    def close(self) -> None:
        """Drop the connection."""
        if self.writer is not None:
            self.writer.close()
        self.reader = self.writer = None

    async def send_raw(self, raw: bytes, method: str = "GET") -> tuple[int, bytes]:
        """Send prebuilt request bytes; a broken connection is reopened once and retried."""
        for attempt in (1, 2):
            try:
                await self.connect()
                assert self.reader is not None and self.writer is not None
                self.writer.write(raw)
                status, body, close = await read_response(self.reader, method)
                if close:
                    self.close()
                return status, body
            except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError) as error:
                self.close()
                if attempt == 2:
                    raise HttpError(f"{type(error).__name__}: {error}") from error
        raise AssertionError("unreachable")

    async def request(
        self,
        method: str,
        path: str,
        *,
        token: str | None = None,
        json_body: Any = None,
        headers: str = "",
    ) -> tuple[int, bytes]:
        """One request; JSON bodies are encoded here."""
        body = None
        extra = auth_header(token) + headers
        if json_body is not None:
            body = json.dumps(json_body, separators=(",", ":")).encode()
            extra += JSON_HEADER
        return await self.send_raw(
            build_request(method, path, self.port, headers=extra, body=body), method
        )


class Pool:
    """Keep-alive connections per port, reused across requests (for setup and probes)."""

    def __init__(self) -> None:
        self._idle: dict[int, list[Conn]] = {}

    @contextlib.asynccontextmanager
    async def conn(self, port: int) -> AsyncIterator[Conn]:
        """Borrow a connection."""
        idle = self._idle.setdefault(port, [])
        c = idle.pop() if idle else Conn(port)
        try:
            yield c
        except BaseException:
            c.close()
            raise
        idle.append(c)

    async def call(
        self,
        method: str,
        port: int,
        path: str,
        *,
        token: str | None = None,
        json_body: Any = None,
        headers: str = "",
    ) -> tuple[int, Any]:
        """Status and decoded JSON body (None when empty, text when not JSON)."""
        async with self.conn(port) as c:
            status, raw = await c.request(
                method, path, token=token, json_body=json_body, headers=headers
            )
        if not raw:
            return status, None
        try:
            return status, json.loads(raw)
        except ValueError:
            return status, raw.decode(errors="replace")

    def close(self) -> None:
        """Close every idle connection."""
        for conns in self._idle.values():
            for c in conns:
                c.close()
        self._idle.clear()


async def bounded(limit: int, items: Iterable[T], work: Callable[[T], Awaitable[Any]]) -> list[Any]:
    """Run `work` over items with at most `limit` at once; results in order."""
    sem = asyncio.Semaphore(limit)

    async def one(item: T) -> Any:
        async with sem:
            return await work(item)

    return await asyncio.gather(*(one(i) for i in items))


class SseStream:
    """A raw Server-Sent Events reader; calls `on_event(kind, data, arrived_at)` per event."""

    def __init__(
        self,
        port: int,
        path: str,
        token: str,
        on_event: Callable[[str, str, float], None],
        clock: Callable[[], float],
    ) -> None:
        self.port = port
        self.path = path
        self.token = token
        self.on_event = on_event
        self.clock = clock
        self.status: int | None = None
        self.connected = asyncio.Event()
        self.task: asyncio.Task[None] | None = None
        self._writer: asyncio.StreamWriter | None = None

    def start(self) -> None:
        """Begin reading in the background."""
        self.task = asyncio.create_task(self._run())

    async def stop(self) -> None:
        """Close the stream."""
        if self._writer is not None:
            self._writer.close()
        if self.task is not None:
            self.task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self.task

    async def _run(self) -> None:
        reader, writer = await asyncio.open_connection(HOST, self.port)
        self._writer = writer
        writer.write(
            build_request(
                "GET",
                self.path,
                self.port,
                headers=auth_header(self.token) + "Accept: text/event-stream\r\n",
            )
        )
        head = await reader.readuntil(b"\r\n\r\n")
        self.status = int(head[9:12])
        chunked = b"transfer-encoding: chunked" in head.lower()
        self.connected.set()
        if self.status != 200:
            return
        buffer = b""
        while True:
            if chunked:
                size = int((await reader.readuntil(b"\r\n")).split(b";")[0], 16)
                if size == 0:
                    return
                data = await reader.readexactly(size + 2)
                data = data[:-2]
            else:
                data = await reader.read(65536)
                if not data:
                    return
            now = self.clock()
            buffer += data.replace(b"\r\n", b"\n")
            while b"\n\n" in buffer:
                block, buffer = buffer.split(b"\n\n", 1)
                kind, lines = "message", []
                for line in block.decode(errors="replace").split("\n"):
                    if line.startswith("event:"):
                        kind = line[6:].strip()
                    elif line.startswith("data:"):
                        lines.append(line[5:].strip())
                if lines:
                    self.on_event(kind, "\n".join(lines), now)
