"""Fault 4: the Kafka broker is stopped for 20 s while clients send about 5 messages a second.

Sends keep answering 201 quickly (their events wait in the outbox, which stops waiting on
the broker once it is known to fail), the services stay ready (readiness means the
database), and once the broker is back everything is published, in per-thread order,
without restarting anything.
"""

import asyncio
import time

import httpx
import pytest

from shared import topics
from tests.faults.checks import (
    event_ids_by_message,
    out_of_order,
    publish_lags,
    published_everywhere,
    stored_messages,
)
from tests.faults.infra import PrivateInfra
from tests.faults.people import SendLog, conversations, percentile, steady_sends
from tests.faults.stack import Stack, figures, wait_for

CLIENTS = 5
OUTAGE = 20.0
AFTER = 30.0  # seconds of traffic once the broker is back
SETTLED = 15.0  # from then on, a send is published at once again


@pytest.mark.timeout(600)
async def test_broker_stopped_sends_go_on_and_everything_is_published_after(
    stack: Stack, private_infra: PrivateInfra
) -> None:
    convs = await conversations(stack, CLIENTS)
    threads = stack.services["threads"]
    pid = threads.pid
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
        private_infra.kafka.kill()
        down_at = time.monotonic()

        async def probe_readiness() -> None:
            while time.monotonic() - down_at < OUTAGE:
                try:
                    readiness.append((await http.get(f"{threads.url}/health/ready")).status_code)
                except httpx.HTTPError:
                    readiness.append(0)
                await asyncio.sleep(1.0)  # one probe a second, as an orchestrator does

        await probe_readiness()
        private_infra.kafka.start()
        back_in = await private_infra.kafka.wait_ready()
        back_at = time.monotonic()

        async def traffic_went_on() -> bool:  # sends keep coming after the broker is back
            return any(s > back_at + AFTER for s, _ in log.latencies)

        await wait_for(traffic_went_on, timeout=AFTER + 60, what="sends after the outage")
        stop.set()
        await traffic

    during = [took for started, took in log.latencies if down_at <= started < back_at]
    before = [took for started, took in log.latencies if started < down_at]
    ids = {a["message_id"] for a in log.answers.values()}
    published_in, tail = await published_everywhere(stack, ids, timeout=180)
    found, gapless = await stored_messages(stack, convs)
    lags = publish_lags(
        tail.records, {c: (a["message_id"], log.acked_at[c]) for c, a in log.answers.items()}
    )
    late_window = [lag for c, lag in lags.items() if log.acked_at[c] > back_at + SETTLED]
    early_window = [
        lag for c, lag in lags.items() if back_at <= log.acked_at[c] <= back_at + SETTLED
    ]

    async def backlog() -> int:
        async with stack.http("threads") as api:
            return int((await api.get("/health/ready")).json()["reports"]["outbox_backlog"])

    async def backlog_empty() -> bool:
        return await backlog() == 0

    drain_started = time.monotonic()
    backlog_left = await backlog()
    await wait_for(backlog_empty, timeout=120, interval=1, what="the outbox backlog drained")
    drained_s = time.monotonic() - drain_started
    messages_topic = [r for r in tail.records if r.topic == topics.MESSAGING_MESSAGES]
    chart_topic = [r for r in tail.records if r.topic == topics.MESSAGING_CHART]
    event_ids = [event_ids_by_message(messages_topic, ids), event_ids_by_message(chart_topic, ids)]
    figures(
        4,
        "Kafka stopped 20 s under traffic",
        acknowledged=len(log.answers),
        acknowledged_during_outage=len(during),
        found=len(set(found) & set(log.answers)),
        lost=len(set(log.answers) - set(found)),
        failed_attempts=dict(log.failures),
        p50_before_s=percentile(before, 0.5),
        p50_during_s=percentile(during, 0.5),
        p99_during_s=percentile(during, 0.99),
        max_during_s=max(during, default=0.0),
        ready_answers_during=f"{readiness.count(200)}/{len(readiness)}",
        broker_restart_s=back_in,
        recovery_s=published_in,
        out_of_order_messages=out_of_order(messages_topic, ids),
        out_of_order_chart=out_of_order(chart_topic, ids),
        threads_restarted=threads.pid != pid,
        backlog_after_publish=backlog_left,
        backlog_drained_s=drained_s,
        publish_lag_first_15s_after_max_s=max(early_window, default=0.0),
        publish_lag_later_p50_s=percentile(late_window, 0.5),
        publish_lag_later_max_s=max(late_window, default=0.0),
    )
    assert not log.failures, "every send answered 201 at once"
    assert len(during) >= OUTAGE * CLIENTS * 0.5, "sends went on during the outage"
    assert percentile(during, 0.5) < 1.0 and percentile(during, 0.99) < 3.0
    assert readiness and all(code == 200 for code in readiness)
    assert set(log.answers) <= set(found) and gapless == CLIENTS
    assert all(len(e) == 1 for per_message in event_ids for e in per_message.values())
    assert out_of_order(messages_topic, ids) == 0 and out_of_order(chart_topic, ids) == 0
    assert threads.pid == pid and threads.running()
    # Once the broker has been back a while, a new send's events go out at once again.
    assert late_window and max(late_window) < 5.0
