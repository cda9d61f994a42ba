"""Practice messaging settings and provider profiles (both published through the outbox).

Both are read on every send and change rarely, so each process keeps them for a few
seconds; a change made through this process is seen at once, one made through another
instance within `CACHE_SECONDS`.
"""

import time
from typing import Any

from shared.mongo import upsert
from shared.outbox import new_revision

CACHE_SECONDS = 2.0


class _Recent:
    """Values remembered for a short while."""

    def __init__(self, ttl: float = CACHE_SECONDS) -> None:
        self._ttl = ttl
        self._values: dict[str, tuple[float, Any]] = {}

    def get(self, key: str) -> tuple[bool, Any]:
        """(True, value) while fresh, else (False, None)."""
        hit = self._values.get(key)
        if hit is None or hit[0] < time.monotonic():
            return False, None
        return True, hit[1]

    def put(self, key: str, value: Any) -> None:
        """Remember a value read or just written."""
        if len(self._values) > 50_000:
            self._values.clear()
        self._values[key] = (time.monotonic() + self._ttl, value)


class PracticeSettings:
    """Whether each practice has turned secure messaging on (off until an admin does)."""

    def __init__(self, db: Any) -> None:
        self.collection = db["practice_settings"]
        self._recent = _Recent()

    async def is_enabled(self, practice_id: str) -> bool:
        """The practice's toggle; off when never set."""
        fresh, enabled = self._recent.get(practice_id)
        if not fresh:
            doc = await self.collection.find_one({"_id": practice_id})
            enabled = bool(doc and doc.get("enabled"))
            self._recent.put(practice_id, enabled)
        return bool(enabled)

    async def set_enabled(self, practice_id: str, enabled: bool, by: str) -> dict[str, Any]:
        """Store the toggle with a new revision; returns the document."""
        update = {"enabled": enabled, "changed_by": by, **new_revision()}
        await upsert(self.collection, {"_id": practice_id}, {"$set": update})
        self._recent.put(practice_id, enabled)
        return {"_id": practice_id, **update}

    async def by_id(self, practice_id: str) -> dict[str, Any] | None:
        """The stored document, for the outbox's recovery."""
        doc: dict[str, Any] | None = await self.collection.find_one({"_id": practice_id})
        return doc


class ProviderProfiles:
    """The display name each provider chose."""

    def __init__(self, db: Any) -> None:
        self.collection = db["provider_profiles"]
        self._recent = _Recent()

    async def display_name(self, provider_id: str) -> str | None:
        """The chosen name, or None if never set."""
        fresh, name = self._recent.get(provider_id)
        if not fresh:
            doc = await self.collection.find_one({"_id": provider_id})
            name = doc.get("display_name") if doc else None
            self._recent.put(provider_id, name)
        return name if isinstance(name, str) else None

    async def set_display_name(
        self, practice_id: str, provider_id: str, name: str
    ) -> dict[str, Any]:
        """Store the name with a new revision; returns the document."""
        update = {"practice_id": practice_id, "display_name": name, **new_revision()}
        await upsert(self.collection, {"_id": provider_id}, {"$set": update})
        self._recent.put(provider_id, name)
        return {"_id": provider_id, **update}

    async def by_id(self, provider_id: str) -> dict[str, Any] | None:
        """The stored document, for the outbox's recovery."""
        doc: dict[str, Any] | None = await self.collection.find_one({"_id": provider_id})
        return doc
