"""Steps the end-to-end tests share: practice systems add people, an admin turns messaging on."""

import httpx

from shared import topics
from tests.e2e.conftest import System
from tests.support import auth, client_record, eventually, publish_json


async def add_client(system: System, practice: str, provider: str, **fields: object) -> str:
    """Publish a client record as a practice system would; wait until threads and
    announcements (each projects the record on its own) both know the client."""
    record = client_record(practice, **fields)
    client_id = str(record["client_id"])
    record.setdefault("email", f"{client_id}@example.test")
    await publish_json(topics.PRACTICE_CLIENTS, client_id, record)
    as_provider = auth(provider, "provider", practice)
    async with system.client("threads") as threads, system.client("announcements") as announcements:

        async def in_threads() -> bool:
            r = await threads.get(
                "/v1/clients", params={"q": record["last_name"]}, headers=as_provider
            )
            return any(c["client_id"] == client_id for c in r.json()["items"])

        async def in_announcements() -> bool:
            r = await announcements.post(
                "/v1/announcements/preview",
                json={"recipients": {"client_ids": [client_id]}},
                headers=as_provider,
            )
            return r.status_code == 200 and r.json()["recipient_count"] == 1

        await eventually(in_threads)
        await eventually(in_announcements)
    return client_id


async def enable_messaging(threads: httpx.AsyncClient, practice: str, admin: str) -> None:
    r = await threads.put(
        "/v1/practice/messaging",
        json={"enabled": True},
        headers=auth(admin, "provider", practice, admin=True),
    )
    assert r.status_code == 200, r.text


async def add_provider(practice: str, provider: str, *, status: str = "active") -> None:
    """Publish a provider record as a practice system would (see `client_opens`)."""
    record = {"practice_id": practice, "provider_id": provider, "status": status}
    await publish_json(topics.PRACTICE_PROVIDERS, provider, record)


async def client_opens(
    threads: httpx.AsyncClient, practice: str, provider: str, client: str
) -> httpx.Response:
    """The client opens their thread with the provider once threads knows the provider.

    Until the provider's record is projected the answer is a 404 that changes nothing.
    """

    async def answered() -> httpx.Response | None:
        r = await threads.post(
            "/v1/threads",
            json={"provider_id": provider},
            headers=auth(client, "client", practice),
        )
        return None if r.status_code == 404 and r.json()["code"] == "not_found" else r

    found = await eventually(answered)
    assert found is not None
    return found
