"""Lookups by id on the real database server."""

import asyncio

from shared.mongo import create_mongo_client, find_by_id, upsert
from shared.settings import MongoSettings
from tests.support import infra_env, unique


async def test_find_by_id_checks_the_other_fields() -> None:
    mongo = create_mongo_client(MongoSettings(mongodb_url=infra_env()["mongodb_url"]))
    clients = mongo[unique("test_mongo_")]["clients"]
    await clients.insert_one({"_id": "c1", "practice_id": "pr1", "name": "Ada"})

    mine = await find_by_id(clients, "c1", practice_id="pr1")
    theirs = await find_by_id(clients, "c1", practice_id="pr2")
    missing = await find_by_id(clients, "c2")

    assert mine is not None and mine["name"] == "Ada"
    assert theirs is None and missing is None
    await mongo.close()


async def test_racing_first_upserts_all_apply() -> None:
    mongo = create_mongo_client(MongoSettings(mongodb_url=infra_env()["mongodb_url"]))
    database = unique("test_mongo_")
    hints = mongo[database]["hints"]
    try:
        for round_ in range(5):
            # Many writers create the same new document at once: none fails. (Which value
            # stays is the server's: FerretDB's updates are not atomic.)
            _id = f"top-{round_}"
            await asyncio.gather(
                *(upsert(hints, {"_id": _id}, {"$max": {"slot": n}}) for n in range(1, 17))
            )
            found = await hints.find_one({"_id": _id})
            assert found is not None and 1 <= found["slot"] <= 16
    finally:
        await mongo.drop_database(database)
        await mongo.close()
