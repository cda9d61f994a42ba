"""No message text and no token at rest: a user journey through the four processes, then a
search of the raw bytes of every log and database file under `.local/`.

The broker's log segments are left out: the chart topic carries message text by design.
"""

import asyncio
from pathlib import Path

import httpx
import pytest

from tests.e2e.conftest import ROOT, System
from tests.e2e.steps import add_client, add_provider, client_opens, enable_messaging
from tests.support import eventually, token, unique

LOCAL = ROOT / ".local"
DATABASE_FILES = LOCAL / "ferretdb" / "data"
BROKER_SEGMENTS = LOCAL / "kafka" / "data"
CHUNK = 8 << 20


def files_at_rest() -> list[Path]:
    """Every file under `.local/` but the broker's own log segments."""
    return [
        path for path in LOCAL.rglob("*") if path.is_file() and BROKER_SEGMENTS not in path.parents
    ]


def containing(paths: list[Path], needles: list[bytes]) -> dict[bytes, list[Path]]:
    """Which files hold each needle, read as raw bytes in overlapping chunks."""
    found: dict[bytes, list[Path]] = {needle: [] for needle in needles}
    overlap = max(len(n) for n in needles) - 1
    for path in paths:
        try:
            with path.open("rb") as file:
                tail = b""
                while chunk := file.read(CHUNK):
                    window, tail = tail + chunk, (tail + chunk)[-overlap:]
                    for needle in needles:
                        if needle in window and path not in found[needle]:
                            found[needle].append(path)
        except FileNotFoundError:  # a temporary file of another process came and went
            continue
    return found


async def journey(system: System, sentinel: str, last_name: str) -> list[str]:
    """Threads, blocking and announcements with the sentinel in every text; the tokens used."""
    practice, provider = unique("pr-"), unique("p-")
    await add_provider(practice, provider)
    client = await add_client(system, practice, provider, last_name=last_name)
    tokens = [token(provider, "provider", practice, admin=True), token(client, "client", practice)]
    as_provider, as_client = ({"Authorization": f"Bearer {t}"} for t in tokens)
    async with (
        system.client("threads") as threads,
        system.client("blocking") as blocking,
        system.client("announcements") as announcements,
        system.client("notify") as notify,
    ):
        r = await notify.post(
            "/v1/me/devices", json={"platform": "ios", "token": unique("pk-")}, headers=as_client
        )
        assert r.status_code in (200, 201), r.text
        await enable_messaging(threads, practice, provider)
        thread_id = (await client_opens(threads, practice, provider, client)).json()["thread_id"]
        # The provider writes last, so the client has an unread message to be emailed about.
        for headers in (as_client, as_provider):
            r = await threads.post(
                f"/v1/threads/{thread_id}/messages",
                json={"body": f"Note {sentinel}", "client_message_id": unique()},
                headers=headers,
            )
            assert r.status_code == 201, r.text
        page = await threads.get(f"/v1/threads/{thread_id}/messages", headers=as_client)
        assert [m["body"] for m in page.json()["items"]] == [f"Note {sentinel}"] * 2
        assert (await threads.get("/v1/threads", headers=as_provider)).status_code == 200

        refusals = [
            # Rejected input is never echoed, nor logged.
            await threads.post(
                f"/v1/threads/{thread_id}/messages",
                json={"body": "x", "client_message_id": unique(), sentinel: sentinel},
                headers=as_client,
            ),
            await threads.post(
                f"/v1/threads/{thread_id}/messages",
                json={"body": f"{sentinel} " * 10_000, "client_message_id": unique()},
                headers=as_client,
            ),
            await threads.get("/v1/threads", headers={"Authorization": f"Bearer {sentinel}"}),
        ]
        assert [r.status_code for r in refusals] == [422, 413, 401]
        await block_and_unblock(
            blocking, threads, thread_id, client, as_provider, as_client, sentinel
        )

        r = await announcements.post(
            "/v1/announcements",
            json={
                "subject": f"Subject {sentinel}",
                "body": f"Announcement {sentinel}",
                "recipients": {"client_ids": [client]},
                "idempotency_key": unique(),
            },
            headers=as_provider,
        )
        assert r.status_code == 202, r.text
        announcement_id = r.json()["announcement_id"]

        async def delivered() -> bool:
            got = await announcements.get(
                f"/v1/announcements/{announcement_id}", headers=as_provider
            )
            return bool(got.json()["stats"]["delivered"] == got.json()["stats"]["notified"] == 1)

        await eventually(delivered, timeout=30)
        inbox = await announcements.get("/v1/me/announcements", headers=as_client)
        assert inbox.json()["items"][0]["body"] == f"Announcement {sentinel}"
        # The client left the provider's message unread: notify's delayed email went out.
        await eventually(lambda: _mailed(system, f"{client}@example.test"), timeout=30)
    return tokens


async def block_and_unblock(
    blocking: httpx.AsyncClient,
    threads: httpx.AsyncClient,
    thread_id: str,
    client: str,
    as_provider: dict[str, str],
    as_client: dict[str, str],
    sentinel: str,
) -> None:
    """The provider blocks the client (whose refused message stores nothing), then unblocks."""

    async def blocked() -> bool:
        return (await blocking.put(f"/v1/blocks/{client}", headers=as_provider)).status_code == 204

    await eventually(blocked)
    listed = await blocking.get("/v1/blocks", headers=as_provider)
    assert [b["client_id"] for b in listed.json()["items"]] == [client]

    async def refused() -> httpx.Response | None:
        r = await threads.post(
            f"/v1/threads/{thread_id}/messages",
            json={"body": f"Blocked {sentinel}", "client_message_id": unique()},
            headers=as_client,
        )
        return r if r.status_code == 403 else None

    refusal = await eventually(refused)
    assert sentinel not in refusal.text
    assert (await blocking.delete(f"/v1/blocks/{client}", headers=as_provider)).status_code == 204


async def _mailed(system: System, address: str) -> bool:
    return bool(system.smtp.to(address))


async def test_no_message_text_or_token_is_at_rest_in_any_log_or_database_file(
    system: System,
) -> None:
    if not (LOCAL / "ferretdb.pid").is_file():
        # A server this checkout did not start (reused, or not FerretDB) keeps its files
        # elsewhere.
        pytest.skip("the database files are not local (not the native FerretDB of `make test`)")
    sentinel, last_name = unique("SENTINEL-PHI-"), unique("Hopper")
    tokens = await journey(system, sentinel, last_name)
    # Stopped, so every log line has left its process's buffers.
    for service in system.services.values():
        await asyncio.to_thread(service.stop)
    secrets = [sentinel, *tokens, *(t.rsplit(".", 1)[-1] for t in tokens)]

    found = containing(files_at_rest(), [s.encode() for s in [last_name, *secrets]])

    # A control: the client's name, which threads keeps in plain text, is found.
    assert any(DATABASE_FILES in path.parents for path in found[last_name.encode()])
    assert all(service.log_path.stat().st_size > 0 for service in system.services.values())
    assert {s: found[s.encode()] for s in secrets if found[s.encode()]} == {}
