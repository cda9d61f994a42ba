"""Fault 2: blocking is SIGKILLed during 200 block/unblock toggles, then started again.

Threads enforces blocks from its own projection of `messaging.blocks.v1`; once the toggles
are done it must agree with blocking on every pair, both in its projection and in what a
client's send gets (403 `blocked` or 201).
"""

import asyncio
import time

import httpx
import pytest

from tests.faults.people import add_clients, enable_messaging, open_threads
from tests.faults.stack import Stack, figures, wait_for
from tests.support import auth, unique

PROVIDERS = 2
CLIENTS_PER_PROVIDER = 10
TOGGLES = 200
KILL_AFTER = 60


async def blocked_in_blocking(stack: Stack, practice: str, provider: str) -> set[str]:
    """The provider's block list through blocking's API."""
    blocked: set[str] = set()
    cursor = None
    async with stack.http("blocking") as api:
        while True:
            params = {"limit": 100, **({"cursor": cursor} if cursor else {})}
            r = await api.get(
                "/v1/blocks", params=params, headers=auth(provider, "provider", practice)
            )
            assert r.status_code == 200, r.text
            blocked |= {item["client_id"] for item in r.json()["items"]}
            cursor = r.json()["next_cursor"]
            if not cursor:
                return blocked


@pytest.mark.timeout(600)
async def test_blocking_killed_mid_toggles_threads_agrees_on_every_pair(stack: Stack) -> None:
    practice = unique("pr-")
    providers = [unique("p-") for _ in range(PROVIDERS)]
    clients = await add_clients(stack, practice, PROVIDERS * CLIENTS_PER_PROVIDER)
    pairs = [(providers[i // CLIENTS_PER_PROVIDER], c) for i, c in enumerate(clients)]
    await enable_messaging(stack, practice, providers[0])
    thread_ids = await open_threads(stack, practice, pairs)
    # Toggles start with a block: half the pairs end blocked (11 or 9), half unblocked (10).
    counts = [(11, 10, 9, 10)[i % 4] for i in range(len(pairs))]
    assert sum(counts) == TOGGLES
    blocking = stack.services["blocking"]
    answered: list[tuple[float, float]] = []  # (start, seconds) of each 204
    failures: dict[str, int] = {}

    async with httpx.AsyncClient(timeout=15) as http:
        deadline = time.monotonic() + 300

        async def toggle(provider: str, client: str, block: bool) -> None:
            while True:
                started = time.monotonic()
                try:
                    r = await http.request(
                        "PUT" if block else "DELETE",
                        f"{blocking.url}/v1/blocks/{client}",
                        headers=auth(provider, "provider", practice),
                    )
                    if r.status_code == 204:
                        answered.append((started, time.monotonic() - started))
                        return
                    assert r.status_code >= 500, r.text
                    kind = str(r.status_code)
                except httpx.HTTPError as error:
                    kind = type(error).__name__
                failures[kind] = failures.get(kind, 0) + 1
                assert time.monotonic() < deadline, "toggle not answered before the deadline"
                await asyncio.sleep(0.2)

        async def pair_toggler(i: int) -> None:
            provider, client = pairs[i]
            for n in range(counts[i]):
                await toggle(provider, client, block=n % 2 == 0)

        togglers = [asyncio.create_task(pair_toggler(i)) for i in range(len(pairs))]

        async def enough() -> bool:
            return len(answered) >= KILL_AFTER

        await wait_for(enough, timeout=120, interval=0.02, what="first toggles")
        blocking.kill()
        killed_at = time.monotonic()
        before_kill = len(answered)
        blocking.start()
        restart_to_ready = await blocking.wait_ready()
        await asyncio.gather(*togglers)
        done_at = time.monotonic()

    expected = {pair: counts[i] % 2 == 1 for i, pair in enumerate(pairs)}
    in_blocking: dict[tuple[str, str], bool] = {}
    for provider in providers:
        blocked = await blocked_in_blocking(stack, practice, provider)
        for pair in pairs:
            if pair[0] == provider:
                in_blocking[pair] = pair[1] in blocked
    blocking_wrong = [p for p in pairs if in_blocking[p] != expected[p]]

    projection = stack.db("threads")["blocks"]

    async def threads_agrees() -> list[tuple[str, str]]:
        docs = {
            d["_id"]: bool(d.get("blocked"))
            async for d in projection.find({"practice_id": practice})
        }
        return [p for p in pairs if docs.get(f"{p[0]}:{p[1]}", False) != in_blocking[p]]

    async def converged() -> bool:
        return not await threads_agrees()

    try:
        await wait_for(converged, timeout=120, interval=0.5, what="threads' projection")
    finally:
        converged_in = time.monotonic() - done_at
        projection_wrong = await threads_agrees()

    # What a client's send gets, pair by pair.
    sends_wrong = []
    async with stack.http("threads") as api:
        for (provider, client), thread_id in zip(pairs, thread_ids, strict=True):
            r = await api.post(
                f"/v1/threads/{thread_id}/messages",
                json={"body": "after the toggles", "client_message_id": unique()},
                headers=auth(client, "client", practice),
            )
            refused = r.status_code == 403 and r.json()["code"] == "blocked"
            assert refused or r.status_code == 201, r.text
            if refused != in_blocking[(provider, client)]:
                sends_wrong.append((provider, client))

    later = [s + t for s, t in answered if s > killed_at]
    figures(
        2,
        "blocking SIGKILLed mid-toggles",
        toggles_acknowledged=len(answered),
        acknowledged_before_kill=before_kill,
        pairs=len(pairs),
        blocked_pairs=sum(in_blocking.values()),
        blocking_differs_from_requests=len(blocking_wrong),
        projection_differs=len(projection_wrong),
        sends_differ=len(sends_wrong),
        recovery_s=(min(later) - killed_at) if later else -1.0,
        restart_to_ready_s=restart_to_ready,
        projection_converged_s=converged_in,
        failed_attempts=failures,
    )
    assert len(answered) == TOGGLES
    assert sum(expected.values()) == len(pairs) // 2
    assert 0 < before_kill < TOGGLES
    assert not blocking_wrong
    assert not projection_wrong
    assert not sends_wrong
