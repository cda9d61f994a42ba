"""Fault 1: threads is SIGKILLed during 2,000 sends over 50 threads, then started again.

Every send that was answered 201 is stored once with gap-free seqs, each message reaches
both topics under one event id, and its recipient's phone is pushed exactly once.
"""

import asyncio
import time
from collections import Counter, defaultdict

import httpx
import pytest

from shared import topics
from tests.faults.kafka import Tail, value
from tests.faults.people import (
    SendLog,
    add_clients,
    enable_messaging,
    open_threads,
    read_thread,
    register_devices,
    send_until_stored,
)
from tests.faults.stack import Stack, figures, wait_for
from tests.support import auth, unique

THREADS = 50
PER_THREAD = 40
TOTAL = THREADS * PER_THREAD
KILL_AFTER = TOTAL // 4


@pytest.mark.timeout(900)
async def test_threads_killed_mid_sends_loses_and_doubles_nothing(stack: Stack) -> None:
    practice = unique("pr-")
    providers = [unique("p-") for _ in range(THREADS)]
    clients = await add_clients(stack, practice, THREADS)
    await enable_messaging(stack, practice, providers[0])
    thread_ids = await open_threads(stack, practice, list(zip(providers, clients, strict=True)))
    # Providers here take push only: email records settle at once (less work for notify).
    keys = await register_devices(
        stack, practice, [(p, "provider") for p in providers], prefs={"email": False}
    )
    threads = stack.services["threads"]
    log = SendLog()
    killed_at = restarted_ready = 0.0

    async with (
        Tail(stack.kafka, topics.MESSAGING_MESSAGES) as sent,
        Tail(stack.kafka, topics.MESSAGING_CHART) as chart,
        httpx.AsyncClient(timeout=15, limits=httpx.Limits(max_connections=THREADS)) as http,
    ):
        deadline = time.monotonic() + 600

        async def sender(i: int) -> None:
            headers = auth(clients[i], "client", practice)
            for j in range(PER_THREAD):
                await send_until_stored(
                    http,
                    lambda: threads.url,
                    thread_ids[i],
                    f"{thread_ids[i]}-{j}",
                    headers,
                    log,
                    deadline=deadline,
                )

        started = time.monotonic()
        senders = [asyncio.create_task(sender(i)) for i in range(THREADS)]

        async def enough_acknowledged() -> bool:
            return len(log.answers) >= KILL_AFTER

        await wait_for(enough_acknowledged, timeout=300, interval=0.05, what="first sends")
        threads.kill()
        killed_at = time.monotonic()
        acked_before = dict(log.answers)
        threads.start()
        restarted_ready = await threads.wait_ready()
        await asyncio.gather(*senders)
        send_seconds = time.monotonic() - started
        ids = {a["message_id"] for a in log.answers.values()}

        def every_message(records: list) -> bool:
            return ids <= {value(r)["message_id"] for r in records}

        published_in = await sent.until(every_message, timeout=120, what="messages topic")
        charted_in = await chart.until(every_message, timeout=120, what="chart topic")

    # Read every thread back through the API.
    found: dict[str, dict] = {}
    seqs_ok = 0
    async with stack.http("threads") as api:
        for i, thread_id in enumerate(thread_ids):
            items = await read_thread(api, thread_id, auth(clients[i], "client", practice))
            seqs = sorted(m["seq"] for m in items)
            seqs_ok += seqs == list(range(1, PER_THREAD + 1))
            for m in items:
                assert m["client_message_id"] not in found, "a message stored twice"
                found[m["client_message_id"]] = m
    duplicated = sum(
        1
        for m in found.values()
        if m["message_id"] != log.answers.get(m["client_message_id"], {}).get("message_id")
    )
    lost = [c for c in log.answers if c not in found]
    changed = [
        c
        for c, a in acked_before.items()
        if (found[c]["message_id"], found[c]["seq"]) != (a["message_id"], a["seq"])
    ]

    # Each message under one event id on each topic (a republish repeats the same id).
    def event_ids(records: list) -> dict[str, set[str]]:
        per: dict[str, set[str]] = defaultdict(set)
        for r in records:
            v = value(r)
            if v and v.get("message_id") in ids:
                per[v["message_id"]].add(v["event_id"])
        return per

    messages_ids, chart_ids = event_ids(sent.records), event_ids(chart.records)
    repeats_on_topics = sum(
        1 for r in [*sent.records, *chart.records] if (value(r) or {}).get("message_id") in ids
    ) - 2 * len(ids)

    # Notify: one push delivery per message, settled; the phone pushed exactly once each.
    deliveries = stack.db("notify")["deliveries"]

    async def all_pushes_settled() -> bool:
        settled = await deliveries.count_documents(
            {"source_id": {"$in": list(ids)}, "channel": "push", "status": "sent"}
        )
        print(f"[fault 1] push deliveries settled: {settled}/{len(ids)}", flush=True)
        return settled == len(ids)

    wait_started = time.monotonic()
    await wait_for(all_pushes_settled, timeout=400, interval=5, what="push deliveries settled")
    pushes_settled_in = time.monotonic() - wait_started
    records_per_channel = Counter(
        [
            d["channel"]
            async for d in deliveries.find({"source_id": {"$in": list(ids)}}, {"channel": 1})
        ]
    )
    per_key: dict[str, list[str]] = defaultdict(list)
    for request in stack.push.stub.requests:
        for device in request["notification"]["devices"]:
            per_key[device["pushkey"]].append(request["notification"]["event_id"])
    pushes = sum(len(per_key[keys[p]]) for p in providers)
    distinct_pushes = sum(len(set(per_key[keys[p]])) for p in providers)

    figures(
        1,
        "threads SIGKILLed mid-sends",
        acknowledged=len(log.answers),
        acknowledged_before_kill=len(acked_before),
        found=len(found),
        duplicated=duplicated,
        lost=len(lost),
        threads_with_gapless_seqs=f"{seqs_ok}/{THREADS}",
        recovery_s=log.first_ack_after(killed_at) or -1.0,
        restart_to_ready_s=restarted_ready,
        send_wall_s=send_seconds,
        failed_attempts=dict(log.failures),
        topic_repeats_same_event_id=repeats_on_topics,
        published_wait_s=published_in,
        charted_wait_s=charted_in,
        pushes=pushes,
        distinct_pushes=distinct_pushes,
        push_records=records_per_channel.get("push", 0),
        email_records=records_per_channel.get("email", 0),
        pushes_settled_wait_s=pushes_settled_in,
    )
    assert len(log.answers) == TOTAL
    assert 0 < len(acked_before) < TOTAL
    assert len(found) == TOTAL and duplicated == 0 and not lost
    assert not changed, f"acknowledged messages changed id or seq: {changed[:5]}"
    assert seqs_ok == THREADS
    for per in (messages_ids, chart_ids):
        assert per.keys() == ids
        assert all(len(e) == 1 for e in per.values())
    assert records_per_channel["push"] == records_per_channel["email"] == TOTAL
    # Notify did not crash: every message's push happened exactly once.
    assert pushes == distinct_pushes == TOTAL
