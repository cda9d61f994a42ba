"""Steps the end-to-end tests share: a practice system adds clients, an admin turns messaging on."""

import httpx

from shared import topics
from tests.e2e.conftest import System
from tests.support import auth, client_record, eventually, publish_json


async def add_client(system: System, practice: str, provider: str, **fields: object) -> str:
    """Publish a client record as a practice system would; wait until threads sees it."""
    record = client_record(practice, **fields)
    client_id = str(record["client_id"])
    record.setdefault("email", f"{client_id}@example.test")
    await publish_json(topics.PRACTICE_CLIENTS, client_id, record)
    async with system.client("threads") as threads:

        async def projected() -> bool:
            r = await threads.get(
                "/v1/clients",
                params={"q": record["last_name"]},
                headers=auth(provider, "provider", practice),
            )
            return any(c["client_id"] == client_id for c in r.json()["items"])

        await eventually(projected)
    return client_id


async def enable_messaging(threads: httpx.AsyncClient, practice: str, admin: str) -> None:
    r = await threads.put(
        "/v1/practice/messaging",
        json={"enabled": True},
        headers=auth(admin, "provider", practice, admin=True),
    )
    assert r.status_code == 200, r.text
