"""Lookups by id on the real database server."""

from shared.mongo import create_mongo_client, find_by_id
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
