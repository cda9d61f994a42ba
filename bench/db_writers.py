"""Concurrent writers on one database: writes/s and latency (how a development server
copes with writers that collide: FerretDB's SQLite backend lets one write at a time).

`--writers` tasks each alternate an insert of a new ~200-byte document and an upsert of
their own document by `_id`, for `--seconds`, over one PyMongo AsyncMongoClient against a
loopback MongoDB-wire server (a fresh database, dropped after). It prints one line:

    .venv/bin/python bench/db_writers.py --writers 64 --seconds 8
"""

import argparse
import asyncio
import time
import uuid

from pymongo import AsyncMongoClient


async def measure(url: str, writers: int, seconds: float) -> str:
    client: AsyncMongoClient = AsyncMongoClient(url, maxPoolSize=max(100, writers))  # type: ignore[type-arg]
    db = client[f"bench_writers_{uuid.uuid4().hex[:8]}"]
    docs = db["docs"]
    await docs.insert_one({"_id": "created"})
    latencies: list[float] = []
    stop = time.monotonic() + seconds

    async def writer(w: int) -> None:
        i = 0
        while time.monotonic() < stop:
            began = time.perf_counter()
            if i % 2:
                await docs.update_one({"_id": f"w{w}"}, {"$set": {"n": i}}, upsert=True)
            else:
                await docs.insert_one({"_id": f"w{w}-{i}", "v": "x" * 200})
            latencies.append((time.perf_counter() - began) * 1000)
            i += 1

    began = time.monotonic()
    try:
        await asyncio.gather(*(writer(w) for w in range(writers)))
        elapsed = time.monotonic() - began
    finally:
        await client.drop_database(db.name)
        await client.close()
    latencies.sort()
    p50, p99 = latencies[len(latencies) // 2], latencies[int(len(latencies) * 0.99)]
    return (
        f"{writers} writers: {len(latencies) / elapsed:,.0f} writes/s, "
        f"p50 {p50:.1f} ms, p99 {p99:.1f} ms"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default="mongodb://127.0.0.1:27017/")
    parser.add_argument("--writers", type=int, default=64)
    parser.add_argument("--seconds", type=float, default=8.0)
    args = parser.parse_args()
    print(asyncio.run(measure(args.url, args.writers, args.seconds)))


if __name__ == "__main__":
    main()
