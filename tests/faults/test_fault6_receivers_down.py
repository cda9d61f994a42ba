"""Fault 6: the SMTP server and the push gateway are down for 30 s.

Messages sent meanwhile are retried (their delivery records count failed attempts) and,
once both are back, every phone is pushed and every email delivered exactly once.
"""

import time
from collections import Counter

import pytest

from tests.faults.people import conversations, register_devices
from tests.faults.stack import Stack, figures, wait_for
from tests.support import auth, unique

RECIPIENTS = 10
OUTAGE = 30.0


@pytest.mark.timeout(420)
async def test_push_and_smtp_down_deliveries_are_retried_then_made_once(stack: Stack) -> None:
    convs = await conversations(stack, RECIPIENTS)
    practice = convs[0].practice_id
    addresses = {c.client_id: f"{c.client_id}@example.test" for c in convs}
    keys = {}
    for conv in convs:  # each client: a phone, and email to their own address
        keys |= await register_devices(
            stack,
            practice,
            [(conv.client_id, "client")],
            prefs={"email": True, "email_address": addresses[conv.client_id]},
        )
    push, smtp = stack.push, stack.smtp
    await push.stop()
    smtp.stop()
    down_at = time.monotonic()
    message_ids = []
    async with stack.http("threads") as threads:
        for conv in convs:  # the provider writes to each client
            r = await threads.post(
                f"/v1/threads/{conv.thread_id}/messages",
                json={"body": "Your appointment moved", "client_message_id": unique()},
                headers=auth(conv.provider_id, "provider", practice),
            )
            assert r.status_code == 201, r.text
            message_ids.append(r.json()["message_id"])

    deliveries = stack.db("notify")["deliveries"]

    async def records() -> list[dict]:
        return [d async for d in deliveries.find({"source_id": {"$in": message_ids}})]

    async def every_channel_failed_once() -> bool:
        found = await records()
        return len(found) == 2 * RECIPIENTS and all(d.get("attempts", 0) >= 1 for d in found)

    await wait_for(every_channel_failed_once, timeout=OUTAGE, interval=1, what="failed attempts")
    retried_in = time.monotonic() - down_at
    # The outage lasts its 30 s whatever happens meanwhile: that is the fault.
    await wait_for(
        lambda: _elapsed(down_at, OUTAGE), timeout=OUTAGE + 5, interval=0.5, what="the outage"
    )
    during = {d["_id"]: d.get("attempts", 0) for d in await records()}
    await push.start()
    smtp.start()
    up_at = time.monotonic()

    def pushed() -> Counter[str]:
        return Counter(k for k in push.stub.pushkeys() if k in set(keys.values()))

    def mailed() -> Counter[str]:
        return Counter(a for a in addresses.values() for _ in smtp.stub.to(a))

    async def all_delivered() -> bool:
        return len(pushed()) == RECIPIENTS and len(mailed()) == RECIPIENTS

    await wait_for(all_delivered, timeout=240, interval=0.5, what="every push and email")
    recovery_s = time.monotonic() - up_at

    async def all_settled() -> list[dict] | None:
        found = await records()
        return found if all(d["status"] == "sent" for d in found) else None

    settled = await wait_for(all_settled, timeout=60, interval=1, what="records settled")
    figures(
        6,
        "push gateway and SMTP down 30 s",
        messages=RECIPIENTS,
        every_channel_failed_within_s=retried_in,
        attempts_during_outage=sorted(Counter(during.values()).items()),
        pushes=sum(pushed().values()),
        emails=sum(mailed().values()),
        repeated_pushes=sum(pushed().values()) - RECIPIENTS,
        repeated_emails=sum(mailed().values()) - RECIPIENTS,
        recovery_s=recovery_s,
        statuses=dict(Counter(d["status"] for d in settled)),
    )
    assert all(n == 1 for n in pushed().values())
    assert all(n == 1 for n in mailed().values())
    assert len(settled) == 2 * RECIPIENTS


async def _elapsed(since: float, seconds: float) -> bool:
    return time.monotonic() - since >= seconds
