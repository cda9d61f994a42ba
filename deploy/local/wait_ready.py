"""Waits until Kafka answers a metadata request and MongoDB answers ping."""

import argparse
import asyncio
import logging
import sys
import time

from aiokafka.admin import AIOKafkaAdminClient
from pymongo import AsyncMongoClient


async def kafka_ready(bootstrap: str) -> bool:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=3000)
    try:
        await admin.start()
        await admin.list_topics()
        return True
    except Exception:
        return False
    finally:
        await admin.close()


async def mongo_ready(url: str) -> bool:
    client: AsyncMongoClient = AsyncMongoClient(url, serverSelectionTimeoutMS=2000)
    try:
        await client.admin.command("ping")
        return True
    except Exception:
        return False
    finally:
        await client.close()


async def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--kafka", required=True)
    parser.add_argument("--mongo", required=True)
    parser.add_argument("--timeout", type=float, default=120)
    args = parser.parse_args()
    # Connection refusals are expected while the servers boot.
    logging.getLogger("aiokafka").setLevel(logging.CRITICAL)
    deadline = time.monotonic() + args.timeout
    pending = {"kafka": lambda: kafka_ready(args.kafka), "mongo": lambda: mongo_ready(args.mongo)}
    while pending and time.monotonic() < deadline:
        for name, check in list(pending.items()):
            if await check():
                print(f"[infra] {name} ready", file=sys.stderr)
                del pending[name]
        if pending:
            await asyncio.sleep(0.5)
    if pending:
        print(f"[infra] not ready after {args.timeout}s: {', '.join(pending)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
