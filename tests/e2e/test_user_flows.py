"""Flows of the help page, across the four running services."""

import time
from collections.abc import Awaitable
from typing import Any

import httpx

from shared import topics
from tests.e2e.conftest import System
from tests.e2e.steps import add_client, add_provider, client_opens, enable_messaging
from tests.sse import open_stream
from tests.support import TopicTail, auth, body, eventually, unique

SENTINEL = "SENTINEL-PHI-7f3a"


async def test_provider_and_client_converse_and_the_provider_sees_it_live(system: System) -> None:
    practice, provider = unique("pr-"), unique("p-")
    await add_provider(practice, provider)
    client = await add_client(system, practice, provider)
    as_provider, as_client = (
        auth(provider, "provider", practice, admin=True),
        auth(client, "client", practice),
    )
    async with system.client("threads") as threads, system.client("notify") as notify:
        await enable_messaging(threads, practice, provider)
        r = await threads.put(
            "/v1/me/messaging-profile", json={"display_name": "Dr. Rivera"}, headers=as_provider
        )
        assert r.status_code == 200, r.text
        created = await threads.post("/v1/threads", json={"client_id": client}, headers=as_provider)
        again = await client_opens(threads, practice, provider, client)
        assert (created.status_code, again.status_code) == (201, 200)
        thread_id = created.json()["thread_id"]
        assert again.json()["thread_id"] == thread_id

        first = await threads.post(
            f"/v1/threads/{thread_id}/messages",
            json={"body": f"Hello {SENTINEL}", "client_message_id": unique()},
            headers=as_provider,
        )
        assert first.status_code == 201, first.text
        assert first.json()["sender"]["display_name"] == "Dr. Rivera"

        async def listed(headers: dict[str, str], box: str = "inbox") -> list[tuple[Any, ...]]:
            items = (await threads.get("/v1/threads", params={"box": box}, headers=headers)).json()
            return [(t["thread_id"], t["archived"], t["unread"]) for t in items["items"]]

        # The other party's list is a projection: it shows the message a moment later.
        expected = [(thread_id, False, True)]
        assert await eventually(lambda: _is(listed(as_client), expected)) == expected
        page = (await threads.get(f"/v1/threads/{thread_id}/messages", headers=as_client)).json()[
            "items"
        ]
        assert [m["body"] for m in page] == [f"Hello {SENTINEL}"]

        async with open_stream(notify, "/v1/me/stream", as_provider) as live:
            sent_at = time.monotonic()
            reply = await threads.post(
                f"/v1/threads/{thread_id}/messages",
                json={"body": f"Hi {SENTINEL}", "client_message_id": unique()},
                headers=as_client,
            )
            assert reply.status_code == 201 and reply.json()["seq"] == 2
            message = await live.wait_for("message", thread_id=thread_id, seq=2)
            unread = await live.wait_for("unread", unread_threads=1)
        print(
            f"\nlive: message event {1000 * (message.at - sent_at):.0f} ms, unread event {1000 * (unread.at - sent_at):.0f} ms after the client's send"
        )
        assert message.at - sent_at < 1.0
        assert SENTINEL not in str(message.data) and SENTINEL not in str(unread.data)

        assert (await threads.get("/v1/unread", headers=as_provider)).json() == {
            "unread_threads": 1
        }
        assert (
            await threads.post(f"/v1/threads/{thread_id}/read", headers=as_provider)
        ).status_code == 204
        assert (await threads.get("/v1/unread", headers=as_provider)).json() == {
            "unread_threads": 0
        }
        assert (
            await threads.post(f"/v1/threads/{thread_id}/archive", headers=as_provider)
        ).status_code == 204
        archived = (
            await threads.get("/v1/threads", params={"box": "archive"}, headers=as_provider)
        ).json()["items"]
        assert [t["thread_id"] for t in archived] == [thread_id]
        await threads.post(
            f"/v1/threads/{thread_id}/messages",
            json={"body": "back", "client_message_id": unique()},
            headers=as_client,
        )
        assert await eventually(lambda: _is(listed(as_provider), expected)) == expected


async def test_a_block_stops_the_clients_messages_within_a_second(system: System) -> None:
    practice, provider = unique("pr-"), unique("p-")
    client = await add_client(system, practice, provider)
    as_provider, as_client = (
        auth(provider, "provider", practice, admin=True),
        auth(client, "client", practice),
    )
    async with system.client("threads") as threads, system.client("blocking") as blocking:
        await enable_messaging(threads, practice, provider)
        thread_id = (
            await threads.post("/v1/threads", json={"client_id": client}, headers=as_provider)
        ).json()["thread_id"]

        async def send(headers: dict[str, str]) -> httpx.Response:
            return await threads.post(
                f"/v1/threads/{thread_id}/messages",
                json={"body": "hi", "client_message_id": unique()},
                headers=headers,
            )

        assert (await send(as_client)).status_code == 201
        await block(blocking, client, as_provider)
        started = time.monotonic()

        async def refused() -> httpx.Response | None:
            r = await send(as_client)
            return r if r.status_code == 403 else None

        refusal = await eventually(refused, timeout=5)
        lag = time.monotonic() - started
        print(
            f"\nblock took effect in the threads service {1000 * lag:.0f} ms after the blocking service answered"
        )
        assert refusal.json()["code"] == "blocked"
        assert lag < 1.0
        assert (await send(as_provider)).status_code == 201

        assert (
            await blocking.delete(f"/v1/blocks/{client}", headers=as_provider)
        ).status_code == 204
        await eventually(lambda: _accepted(send(as_client)), timeout=5)


async def block(blocking: httpx.AsyncClient, client: str, headers: dict[str, str]) -> None:
    """Block once the blocking service knows the client (until then the client is unknown: 404)."""

    async def blocked() -> bool:
        return (await blocking.put(f"/v1/blocks/{client}", headers=headers)).status_code == 204

    await eventually(blocked)


async def _accepted(pending: object) -> bool:
    response = await pending  # type: ignore[misc]
    return bool(response.status_code == 201)


async def test_announcement_reaches_every_client_and_each_device_gets_one_push(
    system: System,
) -> None:
    practice, provider = unique("pr-"), unique("p-")
    clients = [await add_client(system, practice, provider) for _ in range(3)]
    as_provider = auth(provider, "provider", practice, admin=True)
    async with (
        system.client("notify") as notify,
        system.client("announcements") as announcements,
        system.client("blocking") as blocking,
    ):
        pushkeys = {}
        for c in clients:
            pushkeys[c] = unique("pushkey-")
            r = await notify.post(
                "/v1/me/devices",
                json={"platform": "ios", "token": pushkeys[c]},
                headers=auth(c, "client", practice),
            )
            assert r.status_code in (200, 201), r.text
        await block(blocking, clients[0], as_provider)

        async def preview_counts_all() -> bool:
            r = await announcements.post(
                "/v1/announcements/preview",
                json={"recipients": {"all_clients": True}},
                headers=as_provider,
            )
            return r.status_code == 200 and r.json()["recipient_count"] == 3

        await eventually(preview_counts_all)
        async with TopicTail(topics.MESSAGING_ANNOUNCEMENTS) as published:
            r = await announcements.post(
                "/v1/announcements",
                json={
                    "body": f"Payment reminder {SENTINEL}",
                    "subject": f"Billing {SENTINEL}",
                    "recipients": {"all_clients": True},
                    "idempotency_key": unique(),
                },
                headers=as_provider,
            )
            assert r.status_code == 202, r.text
            assert r.json()["recipient_count"] == 3
            announcement_id = r.json()["announcement_id"]
            await published.wait_for(lambda rec: body(rec)["announcement_id"] == announcement_id)

        async def each_device_pushed_once() -> bool:
            keys = system.push.pushkeys()
            return all(keys.count(k) == 1 for k in pushkeys.values())

        await eventually(each_device_pushed_once, timeout=20)
        for c in clients:
            inbox = (
                await announcements.get("/v1/me/announcements", headers=auth(c, "client", practice))
            ).json()["items"]
            assert announcement_id in [a["announcement_id"] for a in inbox]

        async def all_delivered() -> dict[str, int] | None:
            stats = (
                await announcements.get(f"/v1/announcements/{announcement_id}", headers=as_provider)
            ).json()["stats"]
            # Outcomes arrive one channel at a time: wait for the pushes to be counted too.
            done = stats["delivered"] == stats["recipients"] == stats["notified"] == 3
            return stats if done else None

        stats = await eventually(all_delivered, timeout=20)
        assert stats["failed"] == 0
        assert SENTINEL not in str(system.push.requests)
        assert all(SENTINEL.encode() not in raw for raw in system.smtp.raw())


async def _is(value: Awaitable[Any], expected: Any) -> Any:
    """The awaited value if it equals `expected`, else None (for `eventually`)."""
    found = await value
    return found if found == expected else None


async def test_every_service_records_accesses_in_the_practice_audit_chain(system: System) -> None:
    practice, provider = unique("pr-"), unique("p-")
    client = await add_client(system, practice, provider)
    as_admin = auth(provider, "provider", practice, admin=True)
    as_client = auth(client, "client", practice)
    async with (
        system.client("threads") as threads,
        system.client("blocking") as blocking,
        system.client("announcements") as announcements,
    ):
        assert (await blocking.put(f"/v1/blocks/{client}", headers=as_admin)).status_code == 204
        refused = await blocking.get("/v1/blocks", headers=as_client)
        assert refused.status_code == 403
        created = await announcements.post(
            "/v1/announcements",
            json={
                "body": "Office closed Friday",
                "recipients": {"all_clients": True},
                "idempotency_key": unique(),
            },
            headers=as_admin,
        )
        assert created.status_code == 202, created.text

        async def recorded() -> list[Any] | None:
            r = await threads.get("/v1/practice/audit", params={"limit": 100}, headers=as_admin)
            found = [(i["service"], i["action"], i["outcome"]) for i in r.json()["items"]]
            wanted = {
                ("blocking", "block.create", "ok"),
                ("blocking", "block.list", "denied"),
                ("announcements", "announcement.create", "ok"),
            }
            return found if wanted <= set(found) else None

        assert await eventually(recorded, timeout=20)
