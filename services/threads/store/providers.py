"""The local projection of `practice.providers.v1`: which providers a practice has."""

from typing import Any

from shared.events.providers import ProviderRecordChanged
from shared.mongo import find_by_id


class ProviderDirectory:
    """Latest record per provider, read by `_id` (the provider id) alone."""

    def __init__(self, db: Any) -> None:
        self._providers = db["providers"]

    async def ensure_indexes(self) -> None:
        """Nothing: providers are read by `_id` alone."""

    async def upsert(self, record: ProviderRecordChanged) -> None:
        """Store the latest record of a provider (the topic keeps per-provider order)."""
        await self._providers.update_one(
            {"_id": record.provider_id},
            {
                "$set": {
                    "practice_id": record.practice_id,
                    "status": record.status,
                    "changed_at": record.occurred_at,
                    "source_event_id": str(record.event_id),
                }
            },
            upsert=True,
        )

    async def is_active(self, practice_id: str, provider_id: str) -> bool:
        """True for an active provider of this practice; any other provider is unknown here."""
        doc = await find_by_id(self._providers, provider_id, practice_id=practice_id)
        return bool(doc and doc.get("status") == "active")
