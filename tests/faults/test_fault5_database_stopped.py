"""Fault 5: the database is stopped for 20 s while clients send about 5 messages a second.

While it is down every send answers 503 `unavailable` (with Retry-After) within a few
seconds and readiness says unavailable; once it is back the services recover by themselves
and nothing is half-written: every 201 is readable, seqs have no gap, every message is on
both topics.
"""

import asyncio
import time

import httpx
import pytest

from shared import topics
from tests.faults.checks import (
    event_ids_by_message,
    publish_lags,
    published_everywhere,
    stored_messages,
)
from tests.faults.infra import PrivateInfra
from tests.faults.people import SendLog, conversations, percentile, steady_sends
from tests.faults.stack import Stack, figures, wait_for

CLIENTS = 5
OUTAGE = 20.0


@pytest.mark.timeout(600)
async def test_database_stopped_sends_answer_503_then_recover_whole(
    stack: Stack, private_infra: PrivateInfra
) -> None:
    convs = await conversations(stack, CLIENTS)
    threads = stack.services["threads"]
    pids = {name: s.pid for name, s in stack.services.items()}
    log, stop = SendLog(), asyncio.Event()
    readiness: list[int] = []

    async with httpx.AsyncClient(timeout=15) as http:
        traffic = asyncio.create_task(
            steady_sends(
                http, lambda: threads.url, convs, log, stop, deadline=time.monotonic() + 300
            )
        )

        async def some_sent() -> bool:
            return len(log.answers) >= 2 * CLIENTS

        await wait_for(some_sent, timeout=60, what="sends before the outage")
        private_infra.ferretdb.kill()
        down_at = time.monotonic()
        while time.monotonic() - down_at < OUTAGE:
            try:
                readiness.append((await http.get(f"{threads.url}/health/ready")).status_code)
            except httpx.HTTPError:
                readiness.append(0)
            await asyncio.sleep(1.0)  # one probe a second, as an orchestrator does
        private_infra.ferretdb.start()
        await private_infra.ferretdb.wait_ready()
        back_at = time.monotonic()

        async def some_sent_after() -> bool:
            return sum(1 for s, _ in log.latencies if s > back_at) >= 2 * CLIENTS

        await wait_for(some_sent_after, timeout=90, what="sends after the outage")
        stop.set()
        await traffic
        ready_again = [await s.wait_ready(timeout=60) for s in stack.services.values()]

    refusals = [r for r in log.refusals if down_at <= r[0] < back_at]
    ids = {a["message_id"] for a in log.answers.values()}
    published_in, tail = await published_everywhere(stack, ids, timeout=180)
    found, gapless = await stored_messages(stack, convs)
    event_ids = [
        event_ids_by_message([r for r in tail.records if r.topic == t], ids)
        for t in (topics.MESSAGING_MESSAGES, topics.MESSAGING_CHART)
    ]
    lags = publish_lags(
        tail.records, {c: (a["message_id"], log.acked_at[c]) for c, a in log.answers.items()}
    )
    figures(
        5,
        "database stopped 20 s under traffic",
        acknowledged=len(log.answers),
        found=len(set(found) & set(log.answers)),
        lost=len(set(log.answers) - set(found)),
        duplicated=sum(
            1
            for c, m in found.items()
            if c in log.answers and m["message_id"] != log.answers[c]["message_id"]
        ),
        answers_during_outage=dict(log.failures),
        refusal_p50_s=percentile([r[1] for r in refusals], 0.5),
        refusal_max_s=max((r[1] for r in refusals), default=0.0),
        retry_after=sorted({r[4] for r in refusals if r[4]}),
        ready_answers_during=sorted(set(readiness)),
        recovery_s=log.first_ack_after(back_at) or -1.0,
        all_ready_again_s=max(ready_again),
        published_wait_s=published_in,
        publish_lag_max_s=max(lags.values(), default=0.0),
        gapless_threads=f"{gapless}/{CLIENTS}",
        services_restarted=[n for n, s in stack.services.items() if s.pid != pids[n]],
    )
    assert refusals, "sends were refused while the database was down"
    assert set(log.failures) == {"503 unavailable"}, log.failures
    assert all(r[4] for r in refusals), "every 503 carries Retry-After"
    assert max(r[1] for r in refusals) < 5.0
    assert readiness and all(code == 503 for code in readiness)
    assert set(log.answers) <= set(found) and gapless == CLIENTS
    assert all(found[c]["message_id"] == a["message_id"] for c, a in log.answers.items())
    assert all(len(e) == 1 for per_message in event_ids for e in per_message.values())
    assert max(lags.values()) < 10.0, "nothing waits long for its publish after the outage"
    assert all(s.pid == pids[n] and s.running() for n, s in stack.services.items())
