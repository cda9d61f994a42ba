"""A provider's block list: names, search by first and/or last name, pages."""

from typing import Any

from aiokafka.partitioner import DefaultPartitioner

from shared import topics
from tests.blocking.conftest import Blocking, add_clients
from tests.support import auth, client_record, eventually, publish_json, unique


async def listed(service: Blocking, headers: dict[str, str], **params: Any) -> dict[str, Any]:
    """One page of the caller's block list."""
    response = await service.http.get("/v1/blocks", params=params, headers=headers)
    assert response.status_code == 200, response.text
    page: dict[str, Any] = response.json()
    return page


async def blocked_provider(
    service: Blocking, *records: dict[str, object]
) -> tuple[dict[str, str], list[str]]:
    """A provider who blocked the given (new) clients of their practice."""
    ids = await add_clients(service, *records)
    headers = auth(unique("p-"), "provider", str(records[0]["practice_id"]))
    response = await service.http.post("/v1/blocks", json={"client_ids": ids}, headers=headers)
    assert response.status_code == 200, response.text
    return headers, ids


async def test_list_shows_client_names_and_block_time(blocking: Blocking) -> None:
    practice = unique("pr-")
    record = client_record(practice, first_name="Grace")
    headers, (client_id,) = await blocked_provider(blocking, record)

    (item,) = (await listed(blocking, headers))["items"]

    assert item["client_id"] == client_id
    assert (item["first_name"], item["last_name"]) == ("Grace", record["last_name"])
    assert item["blocked_at"]


async def test_search_matches_first_last_or_both_case_insensitively(blocking: Blocking) -> None:
    practice = unique("pr-")
    last = unique("Hopper")
    grace = client_record(practice, first_name="Grace", last_name=last)
    alan = client_record(practice, first_name="Alan", last_name=unique("Turing"))
    headers, (grace_id, _) = await blocked_provider(blocking, grace, alan)

    async def found(q: str) -> list[str]:
        return [i["client_id"] for i in (await listed(blocking, headers, q=q))["items"]]

    assert await found("GRACE") == [grace_id]
    assert await found(last.lower()) == [grace_id]
    assert await found(f"grace {last[:8]}") == [grace_id]
    assert await found(f"{last} grace") == [grace_id]
    assert await found("nobody-by-this-name") == []
    assert len(await found("  ")) == 2


async def test_list_pages_in_name_order(blocking: Blocking) -> None:
    practice = unique("pr-")
    records = [client_record(practice, last_name=f"{n}-{unique()}") for n in "cab"]
    headers, _ = await blocked_provider(blocking, *records)

    first = await listed(blocking, headers, limit=2)
    second = await listed(blocking, headers, limit=2, cursor=first["next_cursor"])

    names = [i["last_name"][0] for i in first["items"] + second["items"]]
    assert names == ["a", "b", "c"]
    assert second["next_cursor"] is None


async def test_a_renamed_client_shows_the_new_name(blocking: Blocking) -> None:
    practice = unique("pr-")
    record = client_record(practice)
    headers, (client_id,) = await blocked_provider(blocking, record)
    renamed = {**record, "last_name": unique("Renamed")}

    await publish_json(topics.PRACTICE_CLIENTS, client_id, renamed)

    async def shown() -> list[Any]:
        return (await listed(blocking, headers, q=str(renamed["last_name"])))["items"]

    assert [i["client_id"] for i in await eventually(shown)] == [client_id]


async def test_a_forged_cursor_is_a_problem(blocking: Blocking) -> None:
    response = await blocking.http.get(
        "/v1/blocks", params={"cursor": "%%%"}, headers=auth("p1", "provider", unique("pr-"))
    )

    assert response.status_code == 422
    assert response.json()["code"] == "invalid_cursor"


async def test_the_list_follows_each_pairs_stored_state_whatever_the_events_order(
    blocking: Blocking,
) -> None:
    """The list projection reads the pair's state: a replayed or late event changes
    nothing, and a client listed twice is one entry."""
    practice, provider = unique("pr-"), unique("p-")
    (client_id,) = await add_clients(blocking, client_record(practice))
    headers = auth(provider, "provider", practice)
    pair = f"{provider}:{client_id}"
    lists = blocking.deps.list_projection.lists
    assert (await blocking.http.put(f"/v1/blocks/{client_id}", headers=headers)).status_code == 204

    # The pair's partition of the topic, as the producer chose it.
    every = list(range(topics.partitions_of(topics.MESSAGING_BLOCKS)))
    partition = DefaultPartitioner()(pair.encode(), every, every)
    await lists.apply([(pair, partition), (pair, partition)])  # replayed
    twice = await listed(blocking, headers)
    assert (
        await blocking.http.delete(f"/v1/blocks/{client_id}", headers=headers)
    ).status_code == 204
    await lists.apply([(pair, partition)])  # the block's event, arriving after the unblock's
    after_unblock = await listed(blocking, headers)

    assert [i["client_id"] for i in twice["items"]] == [client_id]
    assert after_unblock["items"] == []
