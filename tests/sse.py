"""A small Server-Sent Events reader for tests."""

import asyncio
import contextlib
import json
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import httpx


@dataclass
class SseEvent:
    """One received event, with the monotonic time it arrived."""

    event: str
    data: Any
    id: str | None
    at: float


@dataclass
class SseStream:
    """Events received so far on one open stream."""

    events: list[SseEvent] = field(default_factory=list)
    arrived: asyncio.Condition = field(default_factory=asyncio.Condition)

    async def wait_for(self, event: str, timeout: float = 10.0, **data: Any) -> SseEvent:
        """The first event of that name whose data contains the given items."""

        def match() -> SseEvent | None:
            for e in self.events:
                if e.event == event and all(
                    isinstance(e.data, dict) and e.data.get(k) == v for k, v in data.items()
                ):
                    return e
            return None

        async with self.arrived:
            await asyncio.wait_for(self.arrived.wait_for(match), timeout)
        found = match()
        assert found is not None
        return found


async def _read(response: httpx.Response, stream: SseStream) -> None:
    name, data, event_id = "message", [], None
    async for line in response.aiter_lines():
        if line == "":
            if data:
                raw = "\n".join(data)
                with contextlib.suppress(ValueError):
                    raw = json.loads(raw)
                async with stream.arrived:
                    stream.events.append(SseEvent(name, raw, event_id, time.monotonic()))
                    stream.arrived.notify_all()
            name, data, event_id = "message", [], None
        elif line.startswith(":"):
            continue
        else:
            key, _, value = line.partition(":")
            value = value.removeprefix(" ")
            if key == "event":
                name = value
            elif key == "data":
                data.append(value)
            elif key == "id":
                event_id = value


@contextlib.asynccontextmanager
async def open_stream(
    client: httpx.AsyncClient, path: str, headers: dict[str, str]
) -> AsyncIterator[SseStream]:
    """Open an SSE stream and collect its events in the background until the block ends."""
    stream = SseStream()
    async with client.stream("GET", path, headers=headers, timeout=None) as response:
        assert response.status_code == 200, response.status_code
        task = asyncio.create_task(_read(response, stream))
        try:
            yield stream
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, httpx.HTTPError):
                await task
