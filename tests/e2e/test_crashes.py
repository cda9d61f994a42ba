"""A service killed mid-work loses nothing and doubles nothing."""

import asyncio
import contextlib

import httpx

from shared import topics
from tests.e2e.conftest import System
from tests.e2e.steps import add_client, enable_messaging
from tests.support import TopicTail, auth, body, client_record, eventually, publish_json, unique

SENDS = 40


async def test_threads_killed_mid_sends_loses_and_doubles_nothing(system: System) -> None:
    practice, provider = unique("pr-"), unique("p-")
    client = await add_client(system, practice, provider)
    as_client = auth(client, "client", practice)
    async with system.client("threads") as threads:
        await enable_messaging(threads, practice, provider)
        created = await threads.post(
            "/v1/threads", json={"client_id": client}, headers=auth(provider, "provider", practice)
        )
        thread_id = created.json()["thread_id"]
        path = f"/v1/threads/{thread_id}/messages"

        async def send(i: int) -> httpx.Response | None:
            with contextlib.suppress(httpx.HTTPError):
                r = await threads.post(
                    path,
                    json={"body": f"note {i}", "client_message_id": f"m{i}"},
                    headers=as_client,
                )
                return r if r.status_code == 201 else None
            return None

        async with (
            TopicTail(topics.MESSAGING_MESSAGES) as sent,
            TopicTail(topics.MESSAGING_CHART) as chart,
        ):
            sends = [asyncio.create_task(send(i)) for i in range(SENDS)]

            async def some_answered() -> bool:
                return sum(t.done() for t in sends) >= 5

            await eventually(some_answered)
            system.services["threads"].kill()  # SIGKILL while the rest are in flight
            before = {
                r.json()["client_message_id"]: r.json() for r in await asyncio.gather(*sends) if r
            }
            await system.restart("threads")

            # The apps retry whatever was not acknowledged, as they do, with the same ids.
            after = {}
            for i in range(SENDS):
                r = await threads.post(
                    path,
                    json={"body": f"note {i}", "client_message_id": f"m{i}"},
                    headers=as_client,
                )
                assert r.status_code == 201, r.text
                after[f"m{i}"] = r.json()
            ids = {m["message_id"] for m in after.values()}
            published = await sent.wait_for_each(lambda r: body(r)["message_id"], ids, timeout=60)
            charted = await chart.wait_for_each(lambda r: body(r)["message_id"], ids, timeout=60)

        print(f"\n{len(before)} of {SENDS} sends were acknowledged before the crash")
        assert 0 < len(before) < SENDS
        # Acknowledged messages kept their id and seq through the crash and the retries.
        assert all(
            after[cmid]["message_id"] == m["message_id"] and after[cmid]["seq"] == m["seq"]
            for cmid, m in before.items()
        )
        page = (await threads.get(path, params={"limit": 100}, headers=as_client)).json()["items"]
        assert sorted(m["seq"] for m in page) == list(range(1, SENDS + 1))
        assert {m["message_id"] for m in page} == ids
        # Every message reached both topics; a republished event keeps its event_id.
        for records in (published, charted):
            events = {}
            for r in records:
                events.setdefault(body(r)["message_id"], set()).add(body(r)["event_id"])
            assert events.keys() == ids
            assert all(len(e) == 1 for e in events.values())


RECIPIENTS = 60


async def test_notify_killed_mid_fan_out_still_reaches_every_device(system: System) -> None:
    practice, provider = unique("pr-"), unique("p-")
    as_provider = auth(provider, "provider", practice)
    clients = [unique("c-") for _ in range(RECIPIENTS)]
    async with system.client("notify") as notify, system.client("announcements") as announcements:
        for c in clients:
            await publish_json(topics.PRACTICE_CLIENTS, c, client_record(practice, client_id=c))
            r = await notify.post(
                "/v1/me/devices",
                json={"platform": "android", "token": f"key-{c}"},
                headers=auth(c, "client", practice),
            )
            assert r.status_code == 201, r.text

        async def all_known() -> bool:
            r = await announcements.post(
                "/v1/announcements/preview",
                json={"recipients": {"all_clients": True}},
                headers=as_provider,
            )
            return r.status_code == 200 and r.json()["recipient_count"] == RECIPIENTS

        await eventually(all_known)
        keys = {f"key-{c}" for c in clients}
        # The gateway turns away the first attempts for some devices, so that part of the
        # fan-out is still waiting for its retry when notify is killed.
        for c in clients[:10]:
            system.push.fail(f"key-{c}", times=2)
        r = await announcements.post(
            "/v1/announcements",
            json={
                "body": "Clinic closed Monday",
                "recipients": {"all_clients": True},
                "idempotency_key": unique(),
            },
            headers=as_provider,
        )
        assert r.status_code == 202, r.text
        announcement_id = r.json()["announcement_id"]

        async def some_pushed() -> bool:
            return len(keys & set(system.push.pushkeys())) >= 5

        await eventually(some_pushed)
        system.services["notify"].kill()
        pushed_before = len(keys & set(system.push.pushkeys()))
        await system.restart("notify")

        async def every_device_pushed() -> bool:
            return keys <= set(system.push.pushkeys())

        await eventually(every_device_pushed, timeout=90)

        async def stats_complete() -> dict[str, int] | None:
            stats = (
                await announcements.get(f"/v1/announcements/{announcement_id}", headers=as_provider)
            ).json()["stats"]
            return stats if stats["delivered"] == stats["notified"] == RECIPIENTS else None

        stats = await eventually(stats_complete, timeout=60)

    pushes = [k for k in system.push.pushkeys() if k in keys]
    repeated = len(pushes) - len(keys)
    print(
        f"\n{pushed_before} of {RECIPIENTS} devices were pushed before the crash; {repeated} pushes repeated after it"
    )
    assert 0 < pushed_before < RECIPIENTS
    # Only an attempt caught between the gateway's answer and its record can repeat (at most
    # one gateway request: a batch of up to 50 devices), and a repeat carries the same opaque
    # event_id, so the app shows it once.
    assert repeated <= 50
    ids_per_key: dict[str, set[str]] = {}
    for payload in system.push.requests:
        for device in payload["notification"]["devices"]:
            if device["pushkey"] in keys:
                ids_per_key.setdefault(device["pushkey"], set()).add(
                    payload["notification"]["event_id"]
                )
    assert all(len(ids) == 1 for ids in ids_per_key.values())
    assert stats["failed"] == 0
