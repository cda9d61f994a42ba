"""Small factories for announcement tests: practices, clients, providers, requests."""

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import httpx

from shared import topics
from tests.support import auth, client_record, eventually, producer, unique


async def publish_many(topic: str, records: list[tuple[str, dict[str, Any]]]) -> None:
    """Publish (key, JSON value) records in order with one producer."""
    async with producer() as p:
        sent = [await p.send(topic, json.dumps(v).encode(), key=k.encode()) for k, v in records]
        await p.flush()
        for future in sent:
            await future


async def publish_clients(records: list[dict[str, object]]) -> None:
    """Publish client records as the practice's systems would."""
    await publish_many(topics.PRACTICE_CLIENTS, [(str(r["client_id"]), r) for r in records])


@dataclass
class Practice:
    """A practice of the test: its id, a provider and the clients it published."""

    practice_id: str = field(default_factory=lambda: unique("pr-"))
    provider_id: str = field(default_factory=lambda: unique("p-"))
    clients: list[str] = field(default_factory=list)

    def provider(self, provider_id: str | None = None) -> dict[str, str]:
        """Headers of the practice's provider (or another provider of it)."""
        return auth(provider_id or self.provider_id, "provider", self.practice_id)

    def client(self, client_id: str) -> dict[str, str]:
        """Headers of one of the practice's clients."""
        return auth(client_id, "client", self.practice_id)


async def preview(
    http: httpx.AsyncClient, practice: Practice, recipients: dict[str, Any]
) -> httpx.Response:
    """Ask how many clients an announcement would reach."""
    return await http.post(
        "/v1/announcements/preview",
        json={"recipients": recipients},
        headers=practice.provider(),
    )


async def new_practice(service: Any, *, active: int = 2, inactive: int = 0) -> Practice:
    """A practice whose clients the service has projected."""
    practice = Practice()
    records = [client_record(practice.practice_id) for _ in range(active)] + [
        client_record(practice.practice_id, status="inactive") for _ in range(inactive)
    ]
    practice.clients = [str(r["client_id"]) for r in records]
    await publish_clients(records)

    async def projected() -> bool:
        known = await service.deps.sending.clients.known(
            practice.practice_id, tuple(practice.clients)
        )
        return len(known) == len(records)

    await eventually(projected, timeout=60)
    return practice


def announcement(recipients: dict[str, Any], **fields: Any) -> dict[str, Any]:
    """A create request with a fresh idempotency key."""
    payload: dict[str, Any] = {
        "body": "Our office is closed on Friday.",
        "subject": "Office hours",
        "recipients": recipients,
        "idempotency_key": unique("idem-"),
    }
    payload.update(fields)
    return payload


async def until_listed(
    http: httpx.AsyncClient, path: str, headers: dict[str, str], ids: Iterable[str]
) -> None:
    """Wait until a list's first page shows every one of the announcements: the lists are
    kept from the announcements' events, a moment after a send is answered."""
    wanted = set(ids)

    async def shown() -> bool:
        response = await http.get(path, params={"limit": 100}, headers=headers)
        assert response.status_code == 200, response.text
        return wanted <= {i["announcement_id"] for i in response.json()["items"]}

    await eventually(shown, timeout=30)


async def send(
    http: httpx.AsyncClient, practice: Practice, recipients: dict[str, Any], **fields: Any
) -> dict[str, Any]:
    """Send an announcement as the practice's provider; it must be accepted."""
    response = await http.post(
        "/v1/announcements", json=announcement(recipients, **fields), headers=practice.provider()
    )
    assert response.status_code == 202, response.text
    created: dict[str, Any] = response.json()
    return created
