"""Practice messaging settings and provider profiles (both published via the outbox)."""

from typing import Any

from shared.outbox import pending_update


class PracticeSettings:
    """Whether each practice has turned secure messaging on (off until an admin does)."""

    def __init__(self, db: Any) -> None:
        self.collection = db["practice_settings"]

    async def is_enabled(self, practice_id: str) -> bool:
        """The practice's toggle; off when never set."""
        doc = await self.collection.find_one({"_id": practice_id})
        return bool(doc and doc.get("enabled"))

    async def set_enabled(self, practice_id: str, enabled: bool, by: str) -> dict[str, Any]:
        """Store the toggle with its pending event; returns the document."""
        update = {"enabled": enabled, "changed_by": by, **pending_update()}
        await self.collection.update_one({"_id": practice_id}, {"$set": update}, upsert=True)
        return {"_id": practice_id, **update}


class ProviderProfiles:
    """The display name each provider chose."""

    def __init__(self, db: Any) -> None:
        self.collection = db["provider_profiles"]

    async def display_name(self, provider_id: str) -> str | None:
        """The chosen name, or None if never set."""
        doc = await self.collection.find_one({"_id": provider_id})
        return doc.get("display_name") if doc else None

    async def display_names(self, provider_ids: list[str]) -> dict[str, str]:
        """Chosen names of several providers (those without one are absent)."""
        cursor = self.collection.find({"_id": {"$in": provider_ids}})
        return {doc["_id"]: doc["display_name"] async for doc in cursor}

    async def set_display_name(
        self, practice_id: str, provider_id: str, name: str
    ) -> dict[str, Any]:
        """Store the name with its pending event; returns the document."""
        update = {"practice_id": practice_id, "display_name": name, **pending_update()}
        await self.collection.update_one({"_id": provider_id}, {"$set": update}, upsert=True)
        return {"_id": provider_id, **update}
