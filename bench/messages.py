"""Message send latency and throughput through the threads service on the real servers."""

import asyncio
import statistics
import time

from services.threads.app import create_app
from services.threads.settings import ThreadsSettings
from shared import topics
from tests.support import auth, base_settings, eventually, publish_json, running, unique

SEQUENTIAL = 200
CONCURRENT_SENDERS, PER_SENDER = 20, 10


async def main() -> None:
    """Print p50/p95 send latency and throughput, sequential and concurrent."""
    settings = ThreadsSettings(**base_settings(threads_database=unique("bench_threads_")))
    practice, provider, client = unique("pr-"), unique("p-"), unique("c-")
    as_provider = auth(provider, "provider", practice, admin=True)
    async with running(create_app(settings)) as http:
        await publish_json(
            topics.PRACTICE_CLIENTS,
            client,
            {
                "practice_id": practice,
                "client_id": client,
                "first_name": "B",
                "last_name": "Ench",
                "status": "active",
            },
        )

        async def known() -> bool:
            r = await http.get("/v1/clients", params={"q": "ench"}, headers=as_provider)
            return bool(r.json()["items"])

        await eventually(known)
        await http.put("/v1/practice/messaging", json={"enabled": True}, headers=as_provider)
        thread = (
            await http.post("/v1/threads", json={"client_id": client}, headers=as_provider)
        ).json()["thread_id"]

        async def send() -> float:
            started = time.perf_counter()
            r = await http.post(
                f"/v1/threads/{thread}/messages",
                json={"body": "benchmark message", "client_message_id": unique()},
                headers=as_provider,
            )
            assert r.status_code == 201, r.text
            return time.perf_counter() - started

        began = time.perf_counter()
        latencies = [await send() for _ in range(SEQUENTIAL)]
        elapsed = time.perf_counter() - began
        q = statistics.quantiles(latencies, n=20)
        print(
            f"sequential sends: {SEQUENTIAL} in {elapsed:.2f} s = "
            f"{SEQUENTIAL / elapsed:.0f} msg/s; "
            f"p50 {1000 * statistics.median(latencies):.1f} ms, p95 {1000 * q[18]:.1f} ms"
        )

        async def sender() -> list[float]:
            return [await send() for _ in range(PER_SENDER)]

        began = time.perf_counter()
        results = await asyncio.gather(*(sender() for _ in range(CONCURRENT_SENDERS)))
        elapsed = time.perf_counter() - began
        flat = [x for r in results for x in r]
        total = CONCURRENT_SENDERS * PER_SENDER
        print(
            f"concurrent sends ({CONCURRENT_SENDERS} senders, one thread): "
            f"{total} in {elapsed:.2f} s = "
            f"{total / elapsed:.0f} msg/s; p50 {1000 * statistics.median(flat):.1f} ms, "
            f"p95 {1000 * statistics.quantiles(flat, n=20)[18]:.1f} ms"
        )


if __name__ == "__main__":
    asyncio.run(main())
