"""MongoDB client factory and small helpers every store uses."""

from pymongo import AsyncMongoClient
from pymongo.errors import DuplicateKeyError

from shared.settings import MongoSettings


def create_mongo_client(settings: MongoSettings) -> AsyncMongoClient:  # type: ignore[type-arg]
    """An async client with timezone-aware datetimes and majority writes."""
    return AsyncMongoClient(
        settings.mongodb_url,
        tz_aware=True,
        w="majority",
        serverSelectionTimeoutMS=5000,
        uuidRepresentation="standard",
    )


def is_duplicate_key(error: Exception) -> bool:
    """True for a unique-index violation, the project's one tool for races."""
    return isinstance(error, DuplicateKeyError)


__all__ = ["DuplicateKeyError", "create_mongo_client", "is_duplicate_key"]
