"""Practices, people, threads and devices for the fault tests, and senders that retry."""

import asyncio
import contextlib
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx

from shared import topics
from tests.faults.kafka import publish_many
from tests.faults.stack import Stack, wait_for
from tests.support import auth, unique


def client_value(practice_id: str, client_id: str, **fields: object) -> dict[str, object]:
    """A practice system's client record."""
    return {
        "practice_id": practice_id,
        "client_id": client_id,
        "first_name": "Ada",
        "last_name": f"L{client_id}",
        "status": "active",
        **fields,
    }


async def add_clients(stack: Stack, practice_id: str, count: int, **fields: object) -> list[str]:
    """Publish `count` client records on practice.clients.v1; their ids."""
    ids = [unique("c-") for _ in range(count)]
    await publish_many(
        stack.kafka,
        topics.PRACTICE_CLIENTS,
        [(c, client_value(practice_id, c, **fields)) for c in ids],
    )
    return ids


async def enable_messaging(stack: Stack, practice_id: str, admin: str) -> None:
    """A practice admin turns messaging on."""
    async with stack.http("threads") as threads:
        r = await threads.put(
            "/v1/practice/messaging",
            json={"enabled": True},
            headers=auth(admin, "provider", practice_id, admin=True),
        )
        assert r.status_code == 200, r.text


async def open_thread(
    http: httpx.AsyncClient, practice_id: str, provider: str, client: str, timeout: float = 90
) -> str:
    """The provider opens the pair's thread once threads has projected the client."""

    async def opened() -> str | None:
        r = await http.post(
            "/v1/threads",
            json={"client_id": client},
            headers=auth(provider, "provider", practice_id),
        )
        if r.status_code in (200, 201):
            return str(r.json()["thread_id"])
        assert r.status_code == 404, r.text
        return None

    return await wait_for(opened, timeout=timeout, interval=0.5, what=f"thread {provider}/{client}")


async def open_threads(
    stack: Stack, practice_id: str, pairs: list[tuple[str, str]], concurrency: int = 10
) -> list[str]:
    """Thread ids of (provider, client) pairs, opened concurrently."""
    gate = asyncio.Semaphore(concurrency)
    async with stack.http("threads") as http:

        async def one(pair: tuple[str, str]) -> str:
            async with gate:
                return await open_thread(http, practice_id, *pair)

        return list(await asyncio.gather(*(one(p) for p in pairs)))


async def register_devices(
    stack: Stack,
    practice_id: str,
    users: list[tuple[str, str]],
    *,
    prefs: dict[str, object] | None = None,
    concurrency: int = 16,
) -> dict[str, str]:
    """One android device per (user, role), and these notification preferences; pushkeys."""
    gate = asyncio.Semaphore(concurrency)
    keys = {user: f"key-{user}" for user, _ in users}
    async with stack.http("notify") as notify:

        async def one(user: str, role: str) -> None:
            async with gate:
                r = await notify.post(
                    "/v1/me/devices",
                    json={"platform": "android", "token": keys[user]},
                    headers=auth(user, role, practice_id),
                )
                assert r.status_code == 201, r.text
                if prefs is not None:
                    r = await notify.put(
                        "/v1/me/notification-preferences",
                        json=prefs,
                        headers=auth(user, role, practice_id),
                    )
                    assert r.status_code == 200, r.text

        await asyncio.gather(*(one(u, r) for u, r in users))
    return keys


@dataclass
class SendLog:
    """Every send's final answer, and what happened on the way."""

    answers: dict[str, dict[str, Any]] = field(default_factory=dict)  # cmid -> 201 body
    acked_at: dict[str, float] = field(default_factory=dict)  # cmid -> monotonic time of 201
    latencies: list[tuple[float, float]] = field(default_factory=list)  # (start, seconds) of 201s
    failures: dict[str, int] = field(default_factory=dict)  # failure kind -> count
    # (start, seconds, status, code, Retry-After) of every answer other than 201
    refusals: list[tuple[float, float, int, str, str | None]] = field(default_factory=list)
    first_ack_after: Callable[[float], float | None] = field(init=False)

    def __post_init__(self) -> None:
        def first_after(moment: float) -> float | None:
            """Seconds from a moment to the first 201 of a request made after it."""
            later = [start + took for start, took in self.latencies if start > moment]
            return min(later) - moment if later else None

        self.first_ack_after = first_after

    def failed(self, kind: str) -> None:
        self.failures[kind] = self.failures.get(kind, 0) + 1


async def send_until_stored(
    http: httpx.AsyncClient,
    base_url: Callable[[], str],
    thread_id: str,
    cmid: str,
    headers: dict[str, str],
    log: SendLog,
    *,
    deadline: float,
    body: str | None = None,
) -> dict[str, Any]:
    """Send one message; retry what failed (same client_message_id) until it is stored."""
    while True:
        started = time.monotonic()
        try:
            r = await http.post(
                f"{base_url()}/v1/threads/{thread_id}/messages",
                json={"body": body or f"note {cmid}", "client_message_id": cmid},
                headers=headers,
            )
        except httpx.HTTPError as error:
            log.failed(type(error).__name__)
        else:
            if r.status_code == 201:
                answer: dict[str, Any] = r.json()
                log.answers[cmid] = answer
                log.acked_at.setdefault(cmid, time.monotonic())
                log.latencies.append((started, time.monotonic() - started))
                return answer
            if r.status_code < 500:
                raise AssertionError(f"send refused: {r.status_code} {r.text}")
            code = str(r.json().get("code", "")) if r.content else ""
            took = time.monotonic() - started
            log.refusals.append((started, took, r.status_code, code, r.headers.get("retry-after")))
            log.failed(f"{r.status_code} {code}")
        if time.monotonic() > deadline:
            raise AssertionError(f"send {cmid} not stored before the deadline")
        await asyncio.sleep(0.2)


async def read_thread(
    http: httpx.AsyncClient, thread_id: str, headers: dict[str, str]
) -> list[dict[str, Any]]:
    """Every message of a thread through the API, newest first."""
    items: list[dict[str, Any]] = []
    cursor: str | None = None
    while True:
        params: dict[str, Any] = {"limit": 100}
        if cursor:
            params["cursor"] = cursor
        r = await http.get(f"/v1/threads/{thread_id}/messages", params=params, headers=headers)
        assert r.status_code == 200, r.text
        page = r.json()
        items.extend(page["items"])
        cursor = page["next_cursor"]
        if not cursor:
            return items


def percentile(values: list[float], q: float) -> float:
    """The q-quantile (0..1) of some values (0 if none)."""
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


@dataclass(frozen=True)
class Conversation:
    """A thread and the client who writes in it."""

    practice_id: str
    provider_id: str
    client_id: str
    thread_id: str

    def client_headers(self) -> dict[str, str]:
        return auth(self.client_id, "client", self.practice_id)


async def conversations(stack: Stack, count: int) -> list[Conversation]:
    """`count` threads of one practice, each between its own provider and client."""
    practice = unique("pr-")
    providers = [unique("p-") for _ in range(count)]
    clients = await add_clients(stack, practice, count)
    await enable_messaging(stack, practice, providers[0])
    pairs = list(zip(providers, clients, strict=True))
    thread_ids = await open_threads(stack, practice, pairs)
    return [Conversation(practice, p, c, t) for (p, c), t in zip(pairs, thread_ids, strict=True)]


async def steady_sends(
    http: httpx.AsyncClient,
    base_url: Callable[[], str],
    convs: list[Conversation],
    log: SendLog,
    stop: asyncio.Event,
    *,
    per_second: float = 1.0,
    deadline: float,
) -> None:
    """Each client sends about `per_second` messages a second, one at a time, until `stop`.

    A send that fails is retried with its client_message_id until it is stored, as the
    apps do; the next one waits for it, so each thread's messages are sent in order.
    """

    async def client_loop(conv: Conversation) -> None:
        n = 0
        while not stop.is_set():
            started = time.monotonic()
            await send_until_stored(
                http,
                base_url,
                conv.thread_id,
                f"{conv.thread_id}-{n}",
                conv.client_headers(),
                log,
                deadline=deadline,
            )
            n += 1
            pause = 1 / per_second - (time.monotonic() - started)
            if pause > 0:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), pause)

    await asyncio.gather(*(client_loop(c) for c in convs))
