"""Key rotation while the services run: re-wrap, retire the old key, read everything."""

import contextlib
import os
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx

from services.announcements.app import create_app as create_announcements
from services.announcements.settings import AnnouncementsSettings
from services.threads.app import create_app as create_threads
from services.threads.settings import ThreadsSettings
from shared import topics
from tests.support import (
    ENCRYPTION_KEYS,
    auth,
    base_settings,
    client_record,
    eventually,
    infra_env,
    publish_json,
    running,
    unique,
)

ROOT = Path(__file__).resolve().parents[2]
K2_ONLY = next(pair for pair in ENCRYPTION_KEYS.split(",") if pair.startswith("k2:"))


@contextlib.asynccontextmanager
async def services(
    databases: dict[str, str], *, keys: str, active: str
) -> AsyncIterator[tuple[httpx.AsyncClient, httpx.AsyncClient]]:
    """threads and announcements on the given databases with the given key ring."""
    crypto = {"messaging_encryption_keys": keys, "messaging_encryption_active_key": active}
    threads = create_threads(ThreadsSettings(**base_settings(**databases, **crypto)))
    announcements = create_announcements(
        AnnouncementsSettings(**base_settings(**databases, **crypto))
    )
    async with running(threads) as t, running(announcements) as a:
        yield t, a


def keys_command(command: str, databases: dict[str, str], *, active: str, expect: int = 0) -> str:
    """Run `python -m ops.keys` as an operator would; its output (asserting its exit code)."""
    env = {
        **os.environ,
        "MONGODB_URL": infra_env()["mongodb_url"],
        "MESSAGING_ENCRYPTION_KEYS": ENCRYPTION_KEYS,
        "MESSAGING_ENCRYPTION_ACTIVE_KEY": active,
        **{name.upper(): value for name, value in databases.items()},
    }
    done = subprocess.run(
        [sys.executable, "-m", "ops.keys", command],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == expect, done.stdout + done.stderr
    return done.stdout


async def bodies(threads: httpx.AsyncClient, thread_id: str, headers: dict[str, str]) -> list[Any]:
    r = await threads.get(f"/v1/threads/{thread_id}/messages", headers=headers)
    assert r.status_code == 200, r.text
    return [m["body"] for m in r.json()["items"]]


async def test_rewrapped_texts_read_after_the_old_key_is_removed() -> None:
    databases = {
        "threads_database": unique("test_threads_"),
        "announcements_database": unique("test_announcements_"),
    }
    practice, provider = unique("pr-"), unique("p-")
    record = client_record(practice)
    client = str(record["client_id"])
    as_provider = auth(provider, "provider", practice, admin=True)
    as_client = auth(client, "client", practice)

    async with services(databases, keys=ENCRYPTION_KEYS, active="k1") as (threads, notices):
        await publish_json(
            topics.PRACTICE_PROVIDERS,
            provider,
            {"practice_id": practice, "provider_id": provider, "status": "active"},
        )
        await publish_json(topics.PRACTICE_CLIENTS, client, record)

        async def known_to_both() -> bool:
            found = await threads.get(
                "/v1/clients", params={"q": record["last_name"]}, headers=as_provider
            )
            preview = await notices.post(
                "/v1/announcements/preview",
                json={"recipients": {"client_ids": [client]}},
                headers=as_provider,
            )
            return bool(found.json()["items"]) and preview.status_code == 200

        await eventually(known_to_both)
        r = await threads.put("/v1/practice/messaging", json={"enabled": True}, headers=as_provider)
        assert r.status_code == 200, r.text
        r = await threads.post("/v1/threads", json={"client_id": client}, headers=as_provider)
        thread_id = r.json()["thread_id"]
        for body, headers in (("sealed under k1", as_provider), ("reply under k1", as_client)):
            r = await threads.post(
                f"/v1/threads/{thread_id}/messages",
                json={"body": body, "client_message_id": unique()},
                headers=headers,
            )
            assert r.status_code == 201, r.text
        r = await notices.post(
            "/v1/announcements",
            json={
                "subject": "Subject under k1",
                "body": "Announcement under k1",
                "recipients": {"client_ids": [client]},
                "idempotency_key": unique(),
            },
            headers=as_provider,
        )
        assert r.status_code == 202, r.text
        announcement_id = r.json()["announcement_id"]

        async def listed() -> bool:
            """The client's list shows it (a projection, kept a moment after the send)."""
            inbox = await notices.get("/v1/me/announcements", headers=as_client)
            return any(i["announcement_id"] == announcement_id for i in inbox.json()["items"])

        await eventually(listed)

    async with services(databases, keys=ENCRYPTION_KEYS, active="k2") as (threads, notices):
        r = await threads.post(
            f"/v1/threads/{thread_id}/messages",
            json={"body": "sealed under k2", "client_message_id": unique()},
            headers=as_provider,
        )
        assert r.status_code == 201, r.text
        before = keys_command("status", databases, active="k2", expect=1)
        report = keys_command("rewrap", databases, active="k2")

    async with services(databases, keys=K2_ONLY, active="k2") as (threads, notices):
        as_author = await notices.get(f"/v1/announcements/{announcement_id}", headers=as_provider)
        inbox = await notices.get("/v1/me/announcements", headers=as_client)
        read = await bodies(threads, thread_id, as_client)

    assert "threads.messages: k1: 2, k2: 1" in before
    assert "announcements.announcements: k1: 2" in before
    assert "4 sealed values under keys other than the active key k2" in before
    assert "threads.messages: 2 sealed values re-wrapped" in report
    assert "announcements.announcements: 2 sealed values re-wrapped" in report
    assert "0 sealed values under keys other than the active key k2" in report
    assert read == ["sealed under k2", "reply under k1", "sealed under k1"]
    assert (as_author.json()["subject"], as_author.json()["body"]) == (
        "Subject under k1",
        "Announcement under k1",
    )
    [item] = inbox.json()["items"]
    assert (item["subject"], item["body"]) == ("Subject under k1", "Announcement under k1")
