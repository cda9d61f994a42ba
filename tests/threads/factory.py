"""Small factories for threads tests: practices, clients, threads and messages with unique ids."""

from dataclasses import dataclass, field
from typing import Any

import httpx

from shared import topics
from tests.support import auth, eventually, publish_json, unique


@dataclass
class Practice:
    """A practice with messaging on and one provider."""

    practice_id: str = field(default_factory=lambda: unique("pr-"))
    provider_id: str = field(default_factory=lambda: unique("p-"))

    def provider(self, provider_id: str | None = None) -> dict[str, str]:
        """Headers of this practice's provider (or another one)."""
        return auth(provider_id or self.provider_id, "provider", self.practice_id)

    def client(self, client_id: str) -> dict[str, str]:
        """Headers of a client of this practice."""
        return auth(client_id, "client", self.practice_id)

    def admin(self) -> dict[str, str]:
        """Headers of a practice admin."""
        return auth(unique("adm-"), "provider", self.practice_id, admin=True)


@dataclass
class Conversation:
    """A provider-client thread in a practice."""

    practice: Practice
    client_id: str
    thread_id: str

    @property
    def provider(self) -> dict[str, str]:
        """The provider's headers."""
        return self.practice.provider()

    @property
    def client(self) -> dict[str, str]:
        """The client's headers."""
        return self.practice.client(self.client_id)


async def enable_messaging(http: httpx.AsyncClient, practice: Practice, on: bool = True) -> None:
    """A practice admin turns messaging on (or off)."""
    r = await http.put("/v1/practice/messaging", json={"enabled": on}, headers=practice.admin())
    assert r.status_code == 200, r.text


async def add_client(http: httpx.AsyncClient, practice: Practice, **fields: Any) -> dict[str, Any]:
    """Publish a client record and wait until the directory shows it."""
    record: dict[str, Any] = {
        "practice_id": practice.practice_id,
        "client_id": unique("c-"),
        "first_name": "Ada",
        "last_name": unique("Lovelace"),
        "status": "active",
        **fields,
    }
    await publish_json(topics.PRACTICE_CLIENTS, record["client_id"], record)

    async def visible() -> bool:
        r = await http.get(
            "/v1/clients", params={"q": record["last_name"]}, headers=practice.provider()
        )
        return any(
            c["client_id"] == record["client_id"] and c["active"] == (record["status"] == "active")
            for c in r.json()["items"]
        )

    await eventually(visible)
    return record


async def add_provider(
    practice: Practice,
    provider_id: str | None = None,
    *,
    status: str = "active",
    practice_id: str | None = None,
) -> str:
    """Publish a provider record as the practice's systems would (see `client_opens`)."""
    provider_id = provider_id or practice.provider_id
    record = {
        "practice_id": practice_id or practice.practice_id,
        "provider_id": provider_id,
        "status": status,
    }
    await publish_json(topics.PRACTICE_PROVIDERS, provider_id, record)
    return provider_id


async def client_opens(
    http: httpx.AsyncClient, practice: Practice, client_id: str, provider_id: str | None = None
) -> httpx.Response:
    """The client opens their thread with a provider, once threads knows the provider.

    Until the provider's record is projected the answer is a 404 that changes nothing, so
    the call is repeated until it answers anything else (or `eventually` gives up).
    """
    body = {"provider_id": provider_id or practice.provider_id}

    async def answered() -> httpx.Response | None:
        r = await http.post("/v1/threads", json=body, headers=practice.client(client_id))
        return None if r.status_code == 404 and r.json()["code"] == "not_found" else r

    found = await eventually(answered)
    assert found is not None
    return found


async def open_thread(
    http: httpx.AsyncClient, practice: Practice, client_id: str, *, expect: int = 201
) -> str:
    """The provider opens the thread with a client."""
    r = await http.post("/v1/threads", json={"client_id": client_id}, headers=practice.provider())
    assert r.status_code == expect, r.text
    thread_id: str = r.json()["thread_id"]
    return thread_id


async def conversation(http: httpx.AsyncClient, **client_fields: Any) -> Conversation:
    """A fresh practice with messaging on, its provider published, a client and their thread."""
    practice = Practice()
    await add_provider(practice)
    await enable_messaging(http, practice)
    record = await add_client(http, practice, **client_fields)
    thread_id = await open_thread(http, practice, record["client_id"])
    return Conversation(practice, record["client_id"], thread_id)


async def send(
    http: httpx.AsyncClient,
    thread_id: str,
    headers: dict[str, str],
    body: str = "hello",
    *,
    cmid: str | None = None,
    expect: int = 201,
) -> dict[str, Any]:
    """Send a message and check the status."""
    r = await http.post(
        f"/v1/threads/{thread_id}/messages",
        json={"body": body, "client_message_id": cmid or unique("m-")},
        headers=headers,
    )
    assert r.status_code == expect, r.text
    result: dict[str, Any] = r.json()
    return result


async def thread_of(http: httpx.AsyncClient, thread_id: str, headers: dict[str, str]) -> Any:
    """GET one thread (asserting 200)."""
    r = await http.get(f"/v1/threads/{thread_id}", headers=headers)
    assert r.status_code == 200, r.text
    return r.json()


async def box(
    http: httpx.AsyncClient,
    headers: dict[str, str],
    name: str = "inbox",
    *,
    settle_on: list[str] | None = None,
    **params: Any,
) -> list[str]:
    """Thread ids in a box, in order; with `settle_on`, once the box shows them (bounded).

    The list is a projection kept by a consumer: another participant's change reaches it
    a moment after their request ended.
    """

    async def ids() -> list[str]:
        r = await http.get("/v1/threads", params={"box": name, **params}, headers=headers)
        assert r.status_code == 200, r.text
        return [t["thread_id"] for t in r.json()["items"]]

    if settle_on is not None:
        await eventually(lambda: _equals(ids(), settle_on), timeout=10)
    return await ids()


async def _equals(value: Any, expected: Any) -> bool:
    return bool(await value == expected)


async def red_dot(
    http: httpx.AsyncClient, headers: dict[str, str], *, settle_on: int | None = None
) -> int:
    """The caller's unread thread count; with `settle_on`, once it shows that (bounded)."""

    async def count() -> int:
        r = await http.get("/v1/unread", headers=headers)
        assert r.status_code == 200, r.text
        value: int = r.json()["unread_threads"]
        return value

    if settle_on is not None:
        await eventually(lambda: _equals(count(), settle_on), timeout=10)
    return await count()
