"""The live stream: providers see new messages and their red dot within a second."""

import asyncio
import contextlib
import json
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import jwt

from tests.notify.conftest import Notify
from tests.notify.factories import message_sent, publish, state_changed
from tests.support import auth, eventually, token, unique


@dataclass
class Stream:
    """What one open stream has received so far."""

    events: list[dict[str, Any]] = field(default_factory=list)
    comments: list[str] = field(default_factory=list)
    arrived: dict[str, float] = field(default_factory=dict)

    def of(self, kind: str) -> list[dict[str, Any]]:
        """Received events of one kind."""
        return [e for e in self.events if e.get("event") == kind]


async def _read(response: httpx.Response, stream: Stream) -> None:
    current: dict[str, Any] = {}
    async for line in response.aiter_lines():
        if not line:
            if current:
                current["data"] = json.loads(current.get("data", "null"))
                stream.events.append(current)
                stream.arrived[current.get("id", "")] = time.monotonic()
            current = {}
        elif line.startswith(":"):
            stream.comments.append(line)
        else:
            name, _, value = line.partition(":")
            current[name] = value.removeprefix(" ")


@contextlib.asynccontextmanager
async def open_stream(
    notify: Notify, url: str, user: str, *, last_event_id: str | None = None
) -> AsyncIterator[Stream]:
    """Connect a browser's stream and keep reading it in the background."""
    headers = auth(user, "provider", unique("pr-"))
    if last_event_id:
        headers["Last-Event-ID"] = last_event_id
    connected_before = notify.deps.feed.hub.connected(user)
    stream = Stream()
    async with (
        httpx.AsyncClient(base_url=url, timeout=None) as client,
        client.stream("GET", "/v1/me/stream", headers=headers) as response,
    ):
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        reader = asyncio.create_task(_read(response, stream))

        async def subscribed() -> bool:
            return notify.deps.feed.hub.connected(user) > connected_before

        await eventually(subscribed)
        try:
            yield stream
        finally:
            reader.cancel()
            with contextlib.suppress(asyncio.CancelledError, httpx.HTTPError):
                await reader


async def test_provider_sees_a_clients_message_and_red_dot_within_a_second(
    notify: Notify, notify_url: str
) -> None:
    provider = unique("p-")
    message = message_sent(provider, recipient_role="provider", seq=7)
    async with open_stream(notify, notify_url, provider) as stream:
        sent = time.monotonic()
        await publish(message)
        await publish(state_changed(message, read_seq=6, unread_threads=3))
        await eventually(lambda: _has(stream, "message", "unread"), timeout=5)

    latency = max(stream.arrived.values()) - sent
    print(f"\n[notify] live message + unread events after {latency * 1000:.0f}ms")
    assert latency < 1.0
    (msg,) = stream.of("message")
    assert msg["data"] == {
        "thread_id": message.thread_id,
        "seq": 7,
        "message_id": message.message_id,
    }
    assert msg["id"] == f"{message.event_id}:message"
    assert stream.of("unread")[0]["data"] == {"unread_threads": 3}


async def test_every_open_tab_of_a_user_receives_the_event(notify: Notify, notify_url: str) -> None:
    provider = unique("p-")
    message = message_sent(provider, recipient_role="provider")
    async with (
        open_stream(notify, notify_url, provider) as first,
        open_stream(notify, notify_url, provider) as second,
    ):
        await publish(message)
        await eventually(lambda: _has(first, "message"))
        await eventually(lambda: _has(second, "message"))

    assert first.of("message")[0]["id"] == second.of("message")[0]["id"]


async def test_reconnecting_with_last_event_id_replays_what_was_missed(
    notify: Notify, notify_url: str
) -> None:
    provider = unique("p-")
    now = datetime.now(UTC)
    first, second, third = (
        message_sent(
            provider, recipient_role="provider", seq=n, occurred_at=now + timedelta(seconds=n)
        )
        for n in (1, 2, 3)
    )
    async with open_stream(notify, notify_url, provider) as stream:
        await publish(first)
        await eventually(lambda: _has(stream, "message"))
    last_seen = stream.of("message")[0]["id"]
    for missed in (second, third):
        await publish(missed)
    await eventually(lambda: _stored(notify, provider, last_seen, 2))

    async with open_stream(notify, notify_url, provider, last_event_id=last_seen) as again:
        await eventually(lambda: _count(again, "message", 2))

    assert [e["data"]["message_id"] for e in again.of("message")] == [
        second.message_id,
        third.message_id,
    ]


async def test_the_stream_sends_heartbeats(notify: Notify, notify_url: str) -> None:
    async with open_stream(notify, notify_url, unique("p-")) as stream:
        await eventually(lambda: _true(bool(stream.comments)), timeout=5)

    assert stream.comments[0].startswith(": ping")


async def test_the_stream_ends_within_five_seconds_of_its_tokens_expiry(
    notify: Notify, notify_url: str
) -> None:
    provider = unique("p-")
    bearer = token(provider, "provider", unique("pr-"), ttl=3)
    exp = jwt.decode(bearer, options={"verify_signature": False})["exp"]
    stream = Stream()
    async with (
        httpx.AsyncClient(base_url=notify_url, timeout=None) as client,
        client.stream(
            "GET", "/v1/me/stream", headers={"Authorization": f"Bearer {bearer}"}
        ) as response,
    ):
        assert response.status_code == 200
        reader = asyncio.create_task(_read(response, stream))
        await eventually(lambda: _true(notify.deps.feed.hub.connected(provider) > 0))
        await publish(message_sent(provider, recipient_role="provider"))
        await eventually(lambda: _has(stream, "message"), timeout=exp - time.time())
        # Bounded: the contract's 5 s after expiry, plus a little for this test's own clock.
        await asyncio.wait_for(reader, timeout=exp + 5 - time.time() + 0.5)
        ended = time.time()

    assert ended <= exp + 5
    assert notify.deps.feed.hub.connected(provider) == 0


async def test_the_stream_needs_a_token(notify: Notify) -> None:
    response = await notify.http.get("/v1/me/stream")

    assert response.status_code == 401


async def _has(stream: Stream, *kinds: str) -> bool:
    return all(stream.of(kind) for kind in kinds)


async def _count(stream: Stream, kind: str, n: int) -> bool:
    return len(stream.of(kind)) >= n


async def _stored(notify: Notify, user: str, after: str, n: int) -> bool:
    return len(await notify.deps.feed.events.after(user, after)) >= n


async def _true(value: bool) -> bool:
    return value
