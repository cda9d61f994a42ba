"""The audit trail: every access to a thread is recorded in a per-practice hash chain that
practice admins export and anyone with the database can verify (HIPAA 164.312(b))."""

import asyncio
import itertools
import os
import subprocess
import sys
from typing import Any

import httpx

from services.threads.deps import Deps
from shared.audit import first_broken_link
from tests.support import auth, eventually, infra_env, unique
from tests.threads.factory import Conversation, Practice, conversation, send


async def trail(http: httpx.AsyncClient, practice: Practice) -> list[dict[str, Any]]:
    """The practice's whole audit trail, through the API, oldest first."""
    items: list[dict[str, Any]] = []
    cursor = None
    while True:
        params = {"limit": 100, **({"cursor": cursor} if cursor else {})}
        r = await http.get("/v1/practice/audit", params=params, headers=practice.admin())
        assert r.status_code == 200, r.text
        items += r.json()["items"]
        cursor = r.json()["next_cursor"]
        if cursor is None:
            return items


async def trail_with(
    http: httpx.AsyncClient, practice: Practice, actions: list[str]
) -> list[dict[str, Any]]:
    """The trail once these actions are in it (records arrive a moment after the request)."""

    async def complete() -> list[dict[str, Any]] | None:
        found = await trail(http, practice)
        latest = [r["action"] for r in sorted(found, key=lambda r: r["at"])][-len(actions) :]
        return found if latest == actions else None

    # Records come through the audit topic's consumer: on a loaded 2-core host (the whole
    # suite running) that took more than 15 s once, in a full `make test`.
    result = await eventually(complete, timeout=30)
    assert result is not None
    return result


async def use_the_thread(http: httpx.AsyncClient, chat: Conversation, text: str) -> None:
    await send(http, chat.thread_id, chat.client, text)
    await http.get(f"/v1/threads/{chat.thread_id}", headers=chat.provider)
    await http.get(f"/v1/threads/{chat.thread_id}/messages", headers=chat.provider)
    for action in ("read", "unread", "archive", "unarchive"):
        await http.post(f"/v1/threads/{chat.thread_id}/{action}", headers=chat.provider)


ACTIONS = [
    "message.send",
    "thread.view",
    "message.list",
    "thread.read",
    "thread.unread",
    "thread.archive",
    "thread.unarchive",
]


async def test_every_access_to_a_thread_is_recorded_in_order(threads: httpx.AsyncClient) -> None:
    chat = await conversation(threads)
    secret = unique("private words ")

    await use_the_thread(threads, chat, secret)

    records = await trail_with(threads, chat.practice, ACTIONS)
    # A send's record travels with its events, published just after the answer: the
    # chain holds every access, each stamped with when it happened.
    mine = sorted((r for r in records if r["thread_id"] == chat.thread_id), key=lambda r: r["at"])
    assert [r["action"] for r in mine] == ["thread.create", *ACTIONS]
    assert (mine[1]["actor_id"], mine[1]["actor_role"]) == (chat.client_id, "client")
    assert all(r["outcome"] == "ok" and r["service"] == "threads" for r in mine)
    assert secret not in str(records)


async def test_the_trail_is_a_hash_chain(threads: httpx.AsyncClient) -> None:
    chat = await conversation(threads)
    await use_the_thread(threads, chat, "hello")

    records = await trail_with(threads, chat.practice, ACTIONS)

    assert [r["position"] for r in records] == list(range(1, len(records) + 1))
    assert all(b["prev_hash"] == a["hash"] for a, b in itertools.pairwise(records))
    assert first_broken_link(records) is None


async def test_concurrent_writers_never_fork_the_chain(threads: httpx.AsyncClient) -> None:
    chat = await conversation(threads)

    await asyncio.gather(*(send(threads, chat.thread_id, chat.provider) for _ in range(20)))

    records = await trail_with(threads, chat.practice, ["message.send"])
    await eventually(lambda: _count(threads, chat.practice, "message.send", 20), timeout=15)
    records = await trail(threads, chat.practice)
    assert first_broken_link(records) is None
    assert len({r["position"] for r in records}) == len(records)


async def _count(http: httpx.AsyncClient, practice: Practice, action: str, n: int) -> bool:
    return sum(r["action"] == action for r in await trail(http, practice)) >= n


async def test_a_refused_access_is_recorded(threads: httpx.AsyncClient) -> None:
    chat = await conversation(threads)
    outsider = Practice()

    r = await threads.get(f"/v1/threads/{chat.thread_id}", headers=outsider.provider())

    assert r.status_code == 404
    records = await trail_with(threads, outsider, ["thread.access"])
    assert (records[-1]["thread_id"], records[-1]["outcome"]) == (chat.thread_id, "not_found")


async def test_only_practice_admins_read_the_trail(threads: httpx.AsyncClient) -> None:
    chat = await conversation(threads)
    client_claiming_admin = auth(chat.client_id, "client", chat.practice.practice_id, admin=True)

    answers = [
        await threads.get("/v1/practice/audit", headers=headers)
        for headers in (chat.provider, chat.client, client_claiming_admin)
    ]

    assert [(a.status_code, a.json()["code"]) for a in answers] == [(403, "forbidden")] * 3


async def test_an_edited_record_breaks_the_chain_and_verify_reports_it(
    threads: httpx.AsyncClient, deps: Deps
) -> None:
    chat = await conversation(threads)
    await use_the_thread(threads, chat, "hello")
    records = await trail_with(threads, chat.practice, ACTIONS)
    practice_id = chat.practice.practice_id
    intact = verify(deps, practice_id)

    tampered = records[2]
    await deps.audit_records.chain.records.update_one(
        {"_id": f"{practice_id}:{tampered['position']:012d}"}, {"$set": {"actor_id": "someone"}}
    )

    broken = verify(deps, practice_id)
    assert (intact.returncode, "chain intact" in intact.stdout) == (0, True)
    assert broken.returncode == 1
    assert f"BROKEN at record {practice_id}:{tampered['position']:012d}" in broken.stdout


def verify(deps: Deps, practice_id: str) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "MONGODB_URL": infra_env()["mongodb_url"],
        "THREADS_DATABASE": deps.audit_records.chain.records.database.name,
    }
    return subprocess.run(
        [sys.executable, "-m", "ops", "audit", "verify", "--practice", practice_id],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )
