"""Fault 8: a second notify and a second threads instance start mid-load, then the first
of each stops (SIGTERM, as in a rolling deploy).

Nothing is lost (every 201 stored once with gap-free seqs, on both topics, pushed), no
effect is doubled (one push per message), and the live stream on the surviving notify
keeps receiving.
"""

import asyncio
import itertools
import time
from collections import defaultdict

import httpx
import pytest

from shared import topics
from tests.faults.checks import event_ids_by_message, published_everywhere, stored_messages
from tests.faults.people import SendLog, conversations, register_devices, steady_sends
from tests.faults.processes import ServiceProcess
from tests.faults.stack import Stack, figures, wait_for
from tests.sse import open_stream
from tests.support import auth

CLIENTS = 10
STEP = 30  # acknowledged sends between the steps
WATCHED_AFTER_STOP = 8  # messages to the watching provider once the first notify is gone


@pytest.mark.timeout(600)
async def test_second_instances_take_over_and_nothing_is_lost_or_doubled(stack: Stack) -> None:
    convs = await conversations(stack, CLIENTS)
    practice = convs[0].practice_id
    keys = await register_devices(
        stack, practice, [(c.provider_id, "provider") for c in convs], prefs={"email": False}
    )
    watcher = convs[0]  # this provider keeps a live stream open on the new notify
    threads1, notify1 = stack.services["threads"], stack.services["notify"]
    targets: list[ServiceProcess] = [threads1]
    turn = itertools.count()

    def threads_url() -> str:  # a load balancer's choice among the instances in rotation
        return targets[next(turn) % len(targets)].url

    log, stop = SendLog(), asyncio.Event()

    async def acknowledged(more: int) -> None:
        target = len(log.answers) + more

        async def reached() -> bool:
            return len(log.answers) >= target

        await wait_for(reached, timeout=180, interval=0.1, what=f"{more} more sends")

    async with httpx.AsyncClient(timeout=15) as http:
        traffic = asyncio.create_task(
            steady_sends(http, threads_url, convs, log, stop, deadline=time.monotonic() + 400)
        )
        await acknowledged(STEP)
        threads2, notify2 = stack.add_instance("threads"), stack.add_instance("notify")
        threads2.start()
        notify2.start()
        await asyncio.gather(threads2.wait_ready(), notify2.wait_ready())
        targets.append(threads2)
        stream_headers = auth(watcher.provider_id, "provider", practice)
        async with (
            httpx.AsyncClient(base_url=notify2.url, timeout=15) as notify_http,
            open_stream(notify_http, "/v1/me/stream", stream_headers) as stream,
        ):
            await acknowledged(STEP)
            targets.remove(threads1)  # out of rotation, then stopped
            stop_times = await asyncio.gather(
                asyncio.to_thread(threads1.terminate), asyncio.to_thread(notify1.terminate)
            )
            stopped_at = time.monotonic()
            await acknowledged(STEP)

            async def watcher_wrote_after_stop() -> bool:
                return (
                    sum(
                        1
                        for c, at in log.acked_at.items()
                        if c.startswith(watcher.thread_id) and at > stopped_at
                    )
                    >= WATCHED_AFTER_STOP
                )

            await wait_for(watcher_wrote_after_stop, timeout=60, what="the watcher's messages")
            stop.set()
            await traffic
            stack.services["threads"], stack.services["notify"] = threads2, notify2
            # The watcher's messages sent once the first notify was gone: each on the stream.
            after_stop = {
                a["message_id"]
                for c, a in log.answers.items()
                if c.startswith(watcher.thread_id) and log.acked_at[c] > stopped_at
            }

            def streamed() -> set[str]:
                return {
                    e.data.get("message_id")
                    for e in stream.events
                    if e.event == "message" and isinstance(e.data, dict)
                }

            async def all_streamed() -> bool:
                return after_stop <= streamed()

            await wait_for(all_streamed, timeout=60, interval=0.2, what="live message events")
            watcher_all = {
                a["message_id"] for c, a in log.answers.items() if c.startswith(watcher.thread_id)
            }
            streamed_count = len(watcher_all & streamed())

    ids = {a["message_id"] for a in log.answers.values()}
    found, gapless = await stored_messages(stack, convs)
    published_in, tail = await published_everywhere(stack, ids, timeout=120)
    event_ids = [
        event_ids_by_message([r for r in tail.records if r.topic == t], ids)
        for t in (topics.MESSAGING_MESSAGES, topics.MESSAGING_CHART)
    ]
    deliveries = stack.db("notify")["deliveries"]

    async def pushes_settled() -> bool:
        settled = await deliveries.count_documents(
            {"source_id": {"$in": list(ids)}, "channel": "push", "status": "sent"}
        )
        return settled == len(ids)

    await wait_for(pushes_settled, timeout=180, interval=2, what="push deliveries settled")
    per_key: dict[str, list[str]] = defaultdict(list)
    for request in stack.push.stub.requests:
        for device in request["notification"]["devices"]:
            per_key[device["pushkey"]].append(request["notification"]["event_id"])
    pushes = sum(len(per_key[k]) for k in keys.values())
    distinct = sum(len(set(per_key[k])) for k in keys.values())
    figures(
        8,
        "second threads and notify mid-load, first ones stopped",
        acknowledged=len(log.answers),
        found=len(set(found) & set(log.answers)),
        lost=len(set(log.answers) - set(found)),
        duplicated=sum(
            1
            for c, m in found.items()
            if c in log.answers and m["message_id"] != log.answers[c]["message_id"]
        ),
        gapless_threads=f"{gapless}/{CLIENTS}",
        failed_attempts=dict(log.failures),
        graceful_stop_s={"threads": round(stop_times[0], 2), "notify": round(stop_times[1], 2)},
        pushes=pushes,
        distinct_pushes=distinct,
        streamed_after_stop=f"{len(after_stop & streamed())}/{len(after_stop)}",
        streamed_of_watcher_messages=f"{streamed_count}/{len(watcher_all)}",
        published_wait_s=published_in,
    )
    assert set(log.answers) <= set(found) and gapless == CLIENTS
    assert all(found[c]["message_id"] == a["message_id"] for c, a in log.answers.items())
    assert all(len(e) == 1 for per_message in event_ids for e in per_message.values())
    assert pushes == distinct == len(ids), "every message pushed exactly once"
    assert len(after_stop) >= WATCHED_AFTER_STOP and after_stop <= streamed()
