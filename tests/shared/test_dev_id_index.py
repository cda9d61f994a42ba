"""The development server's `_id` index (deploy/local/ferretdb/idindex.go) comes back for a
collection dropped and created again, so `_id` lookups never fall back to scanning."""

import os
import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from shared.mongo import create_mongo_client
from shared.settings import MongoSettings
from tests.support import eventually, infra_env, unique

DATA = Path(
    os.environ.get("FERRETDB_DATA_DIR")
    or Path(__file__).resolve().parents[2] / ".local" / "ferretdb" / "data"
)


# This checkout's own server (`make infra` records its PID), or one named explicitly.
NATIVE = DATA.is_dir() and (
    bool(os.environ.get("FERRETDB_DATA_DIR")) or (DATA.parents[1] / "ferretdb.pid").is_file()
)


@pytest.fixture
async def database() -> AsyncIterator[Any]:
    if not NATIVE:
        pytest.skip("not the native development server (no .local/ferretdb/data)")
    mongo = create_mongo_client(MongoSettings(mongodb_url=infra_env()["mongodb_url"]))
    name = unique("test_idindex_")
    yield mongo[name]
    await mongo.drop_database(name)
    await mongo.close()


def id_indexed(database: str, collection: str) -> bool:
    """Whether SQLite holds the lookup index for the collection's current table."""
    with sqlite3.connect(f"file:{DATA / (database + '.sqlite')}?mode=ro", uri=True) as db:
        row = db.execute(
            "SELECT table_name FROM _ferretdb_collections WHERE name = ?", (collection,)
        ).fetchone()
        if row is None:
            return False
        index = db.execute(
            "SELECT 1 FROM sqlite_master WHERE type = 'index' AND name = ?",
            (row[0] + "_id_lookup",),
        ).fetchone()
        return index is not None


async def test_a_recreated_collection_gets_its_id_index_back(database: Any) -> None:
    await database["things"].insert_one({"_id": "a"})
    assert await eventually(lambda: _async(id_indexed(database.name, "things")), timeout=15)

    await database["things"].drop()
    await database["things"].insert_one({"_id": "b"})

    assert await eventually(lambda: _async(id_indexed(database.name, "things")), timeout=15)


async def _async(value: bool) -> bool:
    return value
