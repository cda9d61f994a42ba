"""How far behind the services' Kafka consumers are: the stack is quiet when this is near zero.

The services' own consumer groups are named without a suffix (`notify.deliveries`,
`announcements.deliveries`, ...); tests on the same broker add a unique suffix with digits,
and notify's live groups end with an instance id: both are left out.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import time
import urllib.request
from typing import Any

_SUFFIXED = re.compile(r"\d")


SERVICES = ("threads.", "blocking.", "announcements.", "notify.")
STALE_SECONDS = 30.0


def _ours(group: str) -> bool:
    return group.startswith(SERVICES) and not _SUFFIXED.search(group.rsplit(".", 1)[-1])


async def consumer_lag() -> dict[str, tuple[int, int]]:
    """group -> (messages not yet committed, committed offsets summed), the services' groups."""
    from aiokafka import AIOKafkaConsumer
    from aiokafka.admin import AIOKafkaAdminClient

    servers = os.environ.get("KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:9092")
    admin = AIOKafkaAdminClient(bootstrap_servers=servers)
    consumer = AIOKafkaConsumer(bootstrap_servers=servers)
    await admin.start()
    await consumer.start()
    try:
        lags: dict[str, tuple[int, int]] = {}
        for group, _protocol in await admin.list_consumer_groups():
            if not _ours(group):
                continue
            offsets: Any = await admin.list_consumer_group_offsets(group)
            committed = {tp: meta.offset for tp, meta in offsets.items() if meta.offset >= 0}
            if not committed:
                continue
            ends = await consumer.end_offsets(list(committed))
            lag = sum(max(0, ends[tp] - off) for tp, off in committed.items())
            lags[group] = (lag, sum(committed.values()))
        return lags
    finally:
        await consumer.stop()
        await admin.close()


def notify_work(port: int = 8004) -> dict[str, int]:
    """What notify holds (its readiness reports): deliveries due now, and those due within
    a minute (such as emails in the benchmark's short delay); empty if unknown. Work due
    later (emails an earlier run queued with the ordinary delay) is not waited for.

    Consumer lag alone says notify accepted the jobs, not that it pushed them: after a
    throughput run thousands of pushes can still be waiting for a delivery slot, and the
    emails of its sends are still in their delay.
    """
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/health/ready", timeout=5) as r:
            reports = json.load(r).get("reports", {})
    except (OSError, ValueError):
        return {}
    return {
        "notify due deliveries": int(reports.get("due_work", 0)),
        "notify deliveries due within a minute": int(reports.get("soon_work", 0)),
    }


async def settle(label: str, *, timeout: float, quiet: int = 20) -> dict[str, Any]:
    """Wait (bounded) until the services' consumers are at most `quiet` messages behind,
    and notify holds at most `quiet` deliveries due now or within a minute.

    A group whose committed offsets do not move for STALE_SECONDS while it is behind has no
    live consumer (a leftover of another run on the shared broker): it is left out.
    """
    began = time.monotonic()
    last_print = began
    seen: dict[str, tuple[int, float]] = {}  # group -> (committed sum, since when)
    stale: set[str] = set()
    while True:
        try:
            raw = await consumer_lag()
        except Exception as error:  # the broker is shared: never fail a run on this probe
            print(f"  [{label}] could not read consumer lag: {error}")
            return {"waited_s": 0.0, "lag": None}
        now = time.monotonic()
        for group, (lag, committed) in raw.items():
            if group not in seen or seen[group][0] != committed or lag == 0:
                seen[group] = (committed, now)
            elif now - seen[group][1] > STALE_SECONDS:
                stale.add(group)
        behind = {g: lag for g, (lag, _) in raw.items() if lag and g not in stale}
        held = await asyncio.to_thread(notify_work)
        behind.update({name: count for name, count in held.items() if count > 0})
        total = sum(behind.values())
        waited = now - began
        if total <= quiet or waited > timeout:
            if total > quiet:
                print(f"  [{label}] {total} still behind after {waited:.0f} s: {behind}")
            elif waited > 1:
                print(f"  [{label}] consumers caught up after {waited:.0f} s", flush=True)
            return {
                "waited_s": round(waited, 1),
                "lag": total,
                "behind": behind,
                "ignored_stale_groups": sorted(stale),
            }
        if now - last_print > 15:
            last_print = now
            print(f"  [{label}] waiting for consumers: {total} behind {behind}", flush=True)
        await asyncio.sleep(2)
