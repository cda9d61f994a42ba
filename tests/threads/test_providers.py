"""The provider directory from `practice.providers.v1`: whom a client may start a thread with."""

import httpx

from services.threads.deps import Deps
from services.threads.store.threads import thread_id_for
from tests.support import eventually, unique
from tests.threads.factory import (
    Practice,
    add_client,
    add_provider,
    client_opens,
    conversation,
    enable_messaging,
)


async def _open(
    http: httpx.AsyncClient, practice: Practice, client_id: str, provider_id: str
) -> httpx.Response:
    return await http.post(
        "/v1/threads", json={"provider_id": provider_id}, headers=practice.client(client_id)
    )


async def _exists(
    http: httpx.AsyncClient, practice: Practice, provider_id: str, client_id: str
) -> bool:
    """Whether the pair's thread exists, as its provider would see it."""
    thread_id = thread_id_for(provider_id, client_id)
    r = await http.get(f"/v1/threads/{thread_id}", headers=practice.provider(provider_id))
    return r.status_code == 200


async def test_a_client_starts_a_thread_with_an_active_provider_of_their_practice(
    threads: httpx.AsyncClient,
) -> None:
    practice = Practice()
    await add_provider(practice)
    await enable_messaging(threads, practice)
    client = await add_client(threads, practice)

    first = await client_opens(threads, practice, client["client_id"])
    again = await client_opens(threads, practice, client["client_id"])

    assert (first.status_code, again.status_code) == (201, 200)
    assert first.json()["thread_id"] == thread_id_for(practice.provider_id, client["client_id"])
    assert await _exists(threads, practice, practice.provider_id, client["client_id"])


async def test_an_unknown_provider_is_not_found(threads: httpx.AsyncClient) -> None:
    chat = await conversation(threads)
    unknown = unique("p-")

    r = await _open(threads, chat.practice, chat.client_id, unknown)

    assert (r.status_code, r.json()["code"]) == (404, "not_found")
    assert not await _exists(threads, chat.practice, unknown, chat.client_id)


async def test_another_practices_provider_is_not_found(threads: httpx.AsyncClient) -> None:
    theirs = await conversation(threads)
    # Their own client reaching them proves the record is projected.
    assert (await client_opens(threads, theirs.practice, theirs.client_id)).status_code == 200
    mine = await conversation(threads)

    r = await _open(threads, mine.practice, mine.client_id, theirs.practice.provider_id)

    assert (r.status_code, r.json()["code"]) == (404, "not_found")
    # Not even under the client's own practice: the pair has no thread anywhere.
    assert not await _exists(threads, mine.practice, theirs.practice.provider_id, mine.client_id)
    assert not await _exists(threads, theirs.practice, theirs.practice.provider_id, mine.client_id)


async def test_an_inactive_provider_is_not_found(threads: httpx.AsyncClient) -> None:
    chat = await conversation(threads)
    assert (await client_opens(threads, chat.practice, chat.client_id)).status_code == 200
    newcomer = await add_client(threads, chat.practice)

    await add_provider(chat.practice, status="inactive")

    async def existing_refused() -> bool:
        r = await _open(threads, chat.practice, chat.client_id, chat.practice.provider_id)
        return r.status_code == 404 and r.json()["code"] == "not_found"

    await eventually(existing_refused)
    r = await _open(threads, chat.practice, newcomer["client_id"], chat.practice.provider_id)
    assert (r.status_code, r.json()["code"]) == (404, "not_found")
    assert not await _exists(
        threads, chat.practice, chat.practice.provider_id, newcomer["client_id"]
    )


async def test_the_projection_keeps_the_latest_record_by_provider_id(
    threads: httpx.AsyncClient, deps: Deps
) -> None:
    practice = Practice()
    provider_id = await add_provider(practice, status="inactive")
    await add_provider(practice)

    async def active() -> bool:
        return await deps.directory.providers.is_active(practice.practice_id, provider_id)

    await eventually(active)
    assert not await deps.directory.providers.is_active(unique("pr-"), provider_id)
