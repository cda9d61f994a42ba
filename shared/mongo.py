"""MongoDB client factory and small helpers every store uses."""

import asyncio
import contextlib
from typing import Any

from pymongo import AsyncMongoClient
from pymongo.errors import DuplicateKeyError, OperationFailure

from shared.metrics import DbCommandMetrics
from shared.settings import MongoSettings

UPDATE_CONCURRENCY = 16
# The server's code for a unique-key collision (in a bulk write's per-document errors).
DUPLICATE_KEY = 11000
# Ids per `{_id: {$in: [...]}}` read, and such reads in flight at once (`find_each`).
ID_BATCH = 100
BATCHES_IN_FLIGHT = 4


def create_mongo_client(settings: MongoSettings) -> AsyncMongoClient:  # type: ignore[type-arg]
    """An async client with timezone-aware datetimes and majority writes."""
    return AsyncMongoClient(
        settings.mongodb_url,
        tz_aware=True,
        w="majority",
        # Fail fast when the database is down: requests answer 503 instead of hanging.
        serverSelectionTimeoutMS=2000,
        connectTimeoutMS=2000,
        uuidRepresentation="standard",
        event_listeners=[DbCommandMetrics()],
        **settings.mongodb_tls_options(),
    )


async def find_by_id(collection: Any, _id: str, **must_match: object) -> dict[str, Any] | None:
    """The document with this `_id` whose other fields equal `must_match`, else None.

    The query names `_id` alone on purpose: it is the one lookup the development server
    (FerretDB) serves from an index, and the cheapest one on MongoDB too.
    """
    doc: dict[str, Any] | None = await collection.find_one({"_id": _id})
    if doc is None or any(doc.get(k) != v for k, v in must_match.items()):
        return None
    return doc


async def find_each(
    collection: Any, ids: list[str], projection: dict[str, int] | None = None
) -> list[dict[str, Any] | None]:
    """The documents with these ids, in order (None where missing).

    Read `ID_BATCH` at a time with `{_id: {$in: [...]}}`, a few batches in flight: MongoDB
    serves it from the `_id` index, and so does the development server (FerretDB 1.24
    with the project's patch, `deploy/local/ferretdb/id-in-pushdown.patch`; unpatched it
    would read the whole collection).
    """
    unique = list(dict.fromkeys(ids))
    gate = asyncio.Semaphore(BATCHES_IN_FLIGHT)
    found: dict[str, dict[str, Any]] = {}

    async def batch(chunk: list[str]) -> None:
        async with gate:
            async for doc in collection.find({"_id": {"$in": chunk}}, projection):
                found[doc["_id"]] = doc

    await asyncio.gather(
        *(batch(unique[i : i + ID_BATCH]) for i in range(0, len(unique), ID_BATCH))
    )
    return [found.get(i) for i in ids]


async def update_each(
    collection: Any, updates: list[tuple[dict[str, Any], dict[str, Any]]], *, upsert: bool = False
) -> None:
    """Apply many single-document updates, a few at a time.

    Never as one multi-statement `update` command: FerretDB 1.24 (development) can
    deadlock a whole database on one, so writes go out as single updates by `_id`.
    """
    limit = asyncio.Semaphore(UPDATE_CONCURRENCY)

    async def one(where: dict[str, Any], change: dict[str, Any]) -> None:
        async with limit:
            await collection.update_one(where, change, upsert=upsert)

    await asyncio.gather(*(one(where, change) for where, change in updates))


async def upsert(collection: Any, where: dict[str, Any], change: dict[str, Any]) -> None:
    """Update a document by `_id`, creating it if missing, even when a concurrent writer
    creates it first.

    FerretDB's upsert is a read then an insert: two racing first writers both insert and
    one fails on the unique `_id`. The document exists by then, so that one's change is
    applied as a plain update.
    """
    try:
        await collection.update_one(where, change, upsert=True)
    except DuplicateKeyError:
        await collection.update_one(where, change)


async def drop_index(collection: Any, name: str) -> None:
    """Drop an index an earlier version kept, if it is still there."""
    with contextlib.suppress(OperationFailure):  # absent already: the usual case
        await collection.drop_index(name)


def is_duplicate_key(error: Exception) -> bool:
    """True for a unique-index violation, the project's one tool for races."""
    return isinstance(error, DuplicateKeyError)


__all__ = [
    "DuplicateKeyError",
    "create_mongo_client",
    "drop_index",
    "find_by_id",
    "find_each",
    "is_duplicate_key",
    "update_each",
    "upsert",
]
