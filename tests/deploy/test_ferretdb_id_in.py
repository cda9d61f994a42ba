"""The development FerretDB serves `{_id: {$in: [...]}}` from the `_id` index.

FerretDB 1.24's SQLite backend pushed down only `{_id: id}`; a batch of ids read the whole
collection. The project's patch (deploy/local/ferretdb/id-in-pushdown.patch) adds the
`$in` form, which `shared.mongo.find_each` relies on. Checked with `explain`, which
reports SQLite's own query plan for the same WHERE clause.
"""

from collections.abc import AsyncIterator
from typing import Any

import pytest
from pymongo import AsyncMongoClient

from tests.support import eventually, infra_env, unique


@pytest.fixture
async def db() -> AsyncIterator[Any]:
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(infra_env()["mongodb_url"])
    name = unique("test_id_in_")
    try:
        await client[name]["docs"].insert_many([{"_id": f"k{i}", "n": i} for i in range(2000)])
        yield client[name]
    finally:
        await client.drop_database(name)
        await client.close()


async def plan(db: Any, where: dict[str, Any]) -> tuple[str, bool]:
    # A query first: SQLite refreshes a connection's schema (the wrapper's index, added from
    # another connection) when a statement reads, and an EXPLAIN alone does not.
    await db["docs"].find_one({"_id": "k0"})
    found = await db.command("explain", {"find": "docs", "filter": where})
    return " ".join(found["queryPlanner"]["Plan"]), bool(found["filterPushdown"])


async def test_a_batch_of_ids_is_read_from_the_id_index(db: Any) -> None:
    async def indexed() -> bool:  # the wrapper indexes a new collection within seconds
        return "USING INDEX" in (await plan(db, {"_id": "k1"}))[0]

    await eventually(indexed)

    text, pushed = await plan(db, {"_id": {"$in": ["k1", "k7", "missing"]}})

    assert pushed and "USING INDEX" in text, text
    found = [doc["n"] async for doc in db["docs"].find({"_id": {"$in": ["k7", "k1", "missing"]}})]
    assert sorted(found) == [1, 7]


async def test_other_filters_are_still_answered_exactly(db: Any) -> None:
    mixed = {"_id": {"$in": ["k1", 5]}}  # not all strings: not pushed down, still right
    also = {"_id": {"$in": ["k1", "k2"]}, "n": 2}

    assert (await plan(db, mixed))[1] is False
    assert [d["_id"] async for d in db["docs"].find(mixed)] == ["k1"]
    assert [d["_id"] async for d in db["docs"].find(also)] == ["k2"]
