"""Fault 3: announcements and then notify are SIGKILLed during a 5,000-recipient fan-out.

After both are started again there is exactly one delivery record per recipient and
channel, every device is pushed (a repeat, possible only for a push in flight when notify
died, carries the same opaque event id), and the announcement's stats are complete.
"""

import asyncio
import time
from collections import Counter, defaultdict

import httpx
import pytest

from tests.faults.people import add_clients, register_devices
from tests.faults.stack import Stack, figures, quiet, wait_for
from tests.support import auth, unique

RECIPIENTS = 5000
# Every fifth recipient has a phone; the others' push settles as `no_device` at once.
DEVICE_EVERY = 5


@pytest.mark.timeout(900)
async def test_announcements_and_notify_killed_mid_fan_out(stack: Stack) -> None:
    practice, author = unique("pr-"), unique("p-")
    as_author = auth(author, "provider", practice)
    setup_started = time.monotonic()
    clients = await add_clients(stack, practice, RECIPIENTS)
    with_device = clients[::DEVICE_EVERY]
    keys = await register_devices(stack, practice, [(c, "client") for c in with_device])
    key_set = set(keys.values())
    announcements, notify = stack.services["announcements"], stack.services["notify"]

    async with stack.http("announcements", timeout=60) as api:

        async def all_known() -> bool:
            r = await api.post(
                "/v1/announcements/preview",
                json={"recipients": {"all_clients": True}},
                headers=as_author,
            )
            return r.status_code == 200 and r.json()["recipient_count"] == RECIPIENTS

        await wait_for(all_known, timeout=240, interval=1, what="5,000 clients projected")
        setup_s = time.monotonic() - setup_started
        print(f"[fault 3] set up in {setup_s:.1f} s", flush=True)

        def pushed() -> set[str]:
            return key_set & set(stack.push.stub.pushkeys())

        r = await api.post(
            "/v1/announcements",
            json={
                "body": "The clinic is closed on Monday",
                "recipients": {"all_clients": True},
                "idempotency_key": unique(),
            },
            headers=as_author,
        )
        assert r.status_code == 202, r.text
        announcement_id = r.json()["announcement_id"]
        sent_at = time.monotonic()
        announcements.kill()  # while its parts may still be publishing

        async def some_pushed() -> bool:
            return len(pushed()) >= len(key_set) // 10

        restarted_first = False
        try:
            await wait_for(some_pushed, timeout=30, interval=0.1, what="pushes")
        except AssertionError:
            # Announcements died before publishing: its restart must publish the parts.
            restarted_first = True
            announcements.start()
            await announcements.wait_ready()
            await wait_for(some_pushed, timeout=180, interval=0.1, what="pushes after restart")
        notify.kill()
        killed_notify_at = time.monotonic()
        # Pushes the dead process sent may still sit unread in the stub's sockets: count
        # once the stub has read them all (its request count stops moving).
        await quiet(lambda: len(stack.push.stub.requests))
        pushed_before_kill = len(pushed())
        requests_before_kill = len(stack.push.stub.requests)
        if not announcements.running():
            announcements.start()
        notify.start()
        await asyncio.gather(announcements.wait_ready(), notify.wait_ready())

        async def every_device_pushed() -> bool:
            return pushed() == key_set

        await wait_for(every_device_pushed, timeout=480, interval=1, what="every device pushed")
        all_pushed_s = time.monotonic() - killed_notify_at
        print(f"[fault 3] every device pushed {all_pushed_s:.1f} s after the kill", flush=True)

        deliveries = stack.db("notify")["deliveries"]

        async def records_complete() -> Counter[str]:
            per_channel = Counter(
                [
                    d["channel"]
                    async for d in deliveries.find(
                        {"source_id": announcement_id}, {"channel": 1, "status": 1}
                    )
                    if d["status"] in ("delivered", "sent", "skipped", "failed")
                ]
            )
            print(f"[fault 3] settled delivery records: {dict(per_channel)}", flush=True)
            return (
                per_channel
                if all(per_channel[c] == RECIPIENTS for c in ("inbox", "push", "email"))
                else Counter()
            )

        per_channel = await wait_for(records_complete, timeout=300, interval=5, what="records")

        async def stats_complete() -> dict[str, int] | None:
            try:
                r = await api.get(f"/v1/announcements/{announcement_id}", headers=as_author)
            except httpx.ReadTimeout:
                print("[fault 3] stats: no answer within 60 s", flush=True)
                return None
            stats: dict[str, int] = r.json()["stats"]
            print(f"[fault 3] stats: {stats}", flush=True)
            done = stats["delivered"] == RECIPIENTS and stats["notified"] == len(key_set)
            return stats if done else None

        stats = await wait_for(stats_complete, timeout=180, interval=2, what="stats")
        complete_s = time.monotonic() - sent_at

    records = [
        d
        async for d in deliveries.find(
            {"source_id": announcement_id}, {"recipient_id": 1, "channel": 1}
        )
    ]
    per_pair = Counter((d["recipient_id"], d["channel"]) for d in records)
    event_ids: dict[str, set[str]] = defaultdict(set)
    pushes = 0
    # Devices notify pushed before it died: only a push then in flight may be repeated.
    before_kill = {
        d["pushkey"]
        for request in stack.push.stub.requests[:requests_before_kill]
        for d in request["notification"]["devices"]
    }
    for request in stack.push.stub.requests:
        for device in request["notification"]["devices"]:
            if device["pushkey"] in key_set:
                pushes += 1
                event_ids[device["pushkey"]].add(request["notification"]["event_id"])
    per_device = Counter(k for k in stack.push.stub.pushkeys() if k in key_set)
    repeated = {k for k, n in per_device.items() if n > 1}
    figures(
        3,
        "announcements then notify SIGKILLed mid-fan-out",
        recipients=RECIPIENTS,
        devices=len(key_set),
        setup_s=setup_s,
        announcements_restarted_before_any_push=restarted_first,
        pushed_before_notify_kill=pushed_before_kill,
        pushes=pushes,
        repeated_pushes=pushes - len(key_set),
        repeated_devices=len(repeated),
        records_inbox=per_channel["inbox"],
        records_push=per_channel["push"],
        records_email=per_channel["email"],
        recipients_with_record=len({r for r, _ in per_pair}),
        stats=stats,
        recovery_s=all_pushed_s,
        fan_out_complete_s=complete_s,
    )
    assert 0 < pushed_before_kill < len(key_set)
    assert all(n == 1 for n in per_pair.values())
    assert len({r for r, _ in per_pair}) == RECIPIENTS
    assert stats["recipients"] == stats["delivered"] == RECIPIENTS
    assert stats["notified"] == len(key_set) and stats["failed"] == 0
    # A repeat is possible only for a push in flight when notify died, and keeps its id
    # (the app shows it once): no device first pushed after the restart is pushed twice.
    assert repeated <= before_kill
    assert all(len(ids) == 1 for ids in event_ids.values())
