"""Providers block and unblock their practice's clients; each change is a BlockChanged event."""

from typing import Any

from services.blocking.domain import block_id
from shared import topics
from shared.ids import stable_uuid
from shared.outbox import Outbox
from tests.blocking.conftest import Blocking, add_clients
from tests.support import TopicTail, auth, body, client_record, header, unique


def provider(practice_id: str) -> tuple[str, dict[str, str]]:
    """A new provider of the practice and their headers."""
    provider_id = unique("p-")
    return provider_id, auth(provider_id, "provider", practice_id)


async def listed(service: Blocking, headers: dict[str, str], **params: Any) -> dict[str, Any]:
    """One page of the caller's block list."""
    response = await service.http.get("/v1/blocks", params=params, headers=headers)
    assert response.status_code == 200, response.text
    page: dict[str, Any] = response.json()
    return page


def for_pair(provider_id: str, client_id: str) -> Any:
    """Matches records of one provider-client pair."""
    return lambda r: r.key is not None and r.key.decode() == f"{provider_id}:{client_id}"


async def test_blocking_publishes_block_changed_keyed_by_pair(blocking: Blocking) -> None:
    practice = unique("pr-")
    (client_id,) = await add_clients(blocking, client_record(practice))
    provider_id, headers = provider(practice)

    async with TopicTail(topics.MESSAGING_BLOCKS) as tail:
        response = await blocking.http.put(f"/v1/blocks/{client_id}", headers=headers)
        (record,) = await tail.wait_for(for_pair(provider_id, client_id))

    assert response.status_code == 204
    event = body(record)
    assert event["blocked"] is True
    assert (event["provider_id"], event["client_id"], event["practice_id"]) == (
        provider_id,
        client_id,
        practice,
    )
    assert header(record, "ce_type") == "messaging.block.changed"
    assert header(record, "ce_id") == event["event_id"]


async def test_unblocking_publishes_blocked_false(blocking: Blocking) -> None:
    practice = unique("pr-")
    (client_id,) = await add_clients(blocking, client_record(practice))
    provider_id, headers = provider(practice)
    await blocking.http.put(f"/v1/blocks/{client_id}", headers=headers)

    async with TopicTail(topics.MESSAGING_BLOCKS) as tail:
        response = await blocking.http.delete(f"/v1/blocks/{client_id}", headers=headers)
        (record,) = await tail.wait_for(for_pair(provider_id, client_id))

    assert response.status_code == 204
    assert body(record)["blocked"] is False
    assert (await listed(blocking, headers))["items"] == []


async def test_blocking_twice_changes_nothing_the_second_time(blocking: Blocking) -> None:
    practice = unique("pr-")
    (client_id,) = await add_clients(blocking, client_record(practice))
    provider_id, headers = provider(practice)

    async with TopicTail(topics.MESSAGING_BLOCKS) as tail:
        first = await blocking.http.put(f"/v1/blocks/{client_id}", headers=headers)
        await tail.wait_for(for_pair(provider_id, client_id))
        second = await blocking.http.put(f"/v1/blocks/{client_id}", headers=headers)
        records = await tail.settle(0.5)

    assert (first.status_code, second.status_code) == (204, 204)
    assert len([r for r in records if for_pair(provider_id, client_id)(r)]) == 1
    assert [i["client_id"] for i in (await listed(blocking, headers))["items"]] == [client_id]


async def test_unblocking_a_client_who_is_not_blocked_answers_204(blocking: Blocking) -> None:
    practice = unique("pr-")
    (client_id,) = await add_clients(blocking, client_record(practice))
    _, headers = provider(practice)

    first = await blocking.http.delete(f"/v1/blocks/{client_id}", headers=headers)
    second = await blocking.http.delete(f"/v1/blocks/{client_id}", headers=headers)

    assert (first.status_code, second.status_code) == (204, 204)


async def test_bulk_block_blocks_every_client(blocking: Blocking) -> None:
    practice = unique("pr-")
    ids = await add_clients(blocking, *(client_record(practice) for _ in range(3)))
    provider_id, headers = provider(practice)
    await blocking.http.put(f"/v1/blocks/{ids[0]}", headers=headers)

    async with TopicTail(topics.MESSAGING_BLOCKS) as tail:
        response = await blocking.http.post(
            "/v1/blocks", json={"client_ids": [*ids, ids[1]]}, headers=headers
        )
        records = await tail.wait_for(
            lambda r: any(for_pair(provider_id, c)(r) for c in ids[1:]), count=2
        )

    assert response.status_code == 200, response.text
    assert response.json() == {"client_ids": ids, "newly_blocked": ids[1:]}
    assert all(body(r)["blocked"] for r in records)
    assert {i["client_id"] for i in (await listed(blocking, headers))["items"]} == set(ids)


async def test_bulk_block_with_another_practices_client_blocks_nobody(
    blocking: Blocking,
) -> None:
    practice, other = unique("pr-"), unique("pr-")
    own, foreign = await add_clients(blocking, client_record(practice), client_record(other))
    _, headers = provider(practice)

    response = await blocking.http.post(
        "/v1/blocks", json={"client_ids": [own, foreign]}, headers=headers
    )

    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"
    assert foreign not in response.text and own not in response.text
    assert (await listed(blocking, headers))["items"] == []


async def test_blocking_another_practices_client_is_not_found(blocking: Blocking) -> None:
    (foreign,) = await add_clients(blocking, client_record(unique("pr-")))
    _, headers = provider(unique("pr-"))

    blocked = await blocking.http.put(f"/v1/blocks/{foreign}", headers=headers)
    unblocked = await blocking.http.delete(f"/v1/blocks/{foreign}", headers=headers)

    assert (blocked.status_code, unblocked.status_code) == (404, 404)
    assert blocked.json()["code"] == "not_found"


async def test_blocking_an_unknown_client_is_not_found(blocking: Blocking) -> None:
    _, headers = provider(unique("pr-"))

    response = await blocking.http.put(f"/v1/blocks/{unique('nobody-')}", headers=headers)

    assert response.status_code == 404


async def test_clients_cannot_block(blocking: Blocking) -> None:
    practice = unique("pr-")
    (client_id,) = await add_clients(blocking, client_record(practice))
    headers = auth(unique("c-"), "client", practice)

    responses = [
        await blocking.http.put(f"/v1/blocks/{client_id}", headers=headers),
        await blocking.http.delete(f"/v1/blocks/{client_id}", headers=headers),
        await blocking.http.post("/v1/blocks", json={"client_ids": [client_id]}, headers=headers),
        await blocking.http.get("/v1/blocks", headers=headers),
    ]

    assert [r.status_code for r in responses] == [403] * 4
    assert all(r.headers["content-type"] == "application/problem+json" for r in responses)


async def test_requests_without_a_token_are_unauthorized(blocking: Blocking) -> None:
    response = await blocking.http.get("/v1/blocks")

    assert response.status_code == 401


async def test_another_providers_blocks_are_not_visible(blocking: Blocking) -> None:
    practice = unique("pr-")
    (client_id,) = await add_clients(blocking, client_record(practice))
    _, mine = provider(practice)
    _, theirs = provider(practice)

    await blocking.http.put(f"/v1/blocks/{client_id}", headers=theirs)

    assert (await listed(blocking, mine))["items"] == []
    assert len((await listed(blocking, theirs))["items"]) == 1


async def test_a_block_stored_before_a_crash_is_published_by_the_next_start(
    blocking: Blocking,
) -> None:
    practice = unique("pr-")
    (client_id,) = await add_clients(blocking, client_record(practice))
    provider_id = unique("p-")
    lists = blocking.deps.block_lists
    outbox = lists.outbox
    assert isinstance(outbox, Outbox)
    (client,) = await lists.clients.get_many(practice, [client_id])

    async with TopicTail(topics.MESSAGING_BLOCKS) as tail:
        # The intent and the change are stored, then the process "died" before publishing.
        await outbox.intend("block", id=block_id(provider_id, client_id))
        block = await lists.blocks.block(provider_id, client)
        assert await outbox.sweep(at_start=True) >= 1
        (record,) = await tail.wait_for(for_pair(provider_id, client_id))

    assert body(record)["blocked"] is True
    assert body(record)["event_id"] == str(stable_uuid(block.id, block.rev, "block"))
    assert await outbox.pending(id=block.id) == []
