"""The local projection of `messaging.blocks.v1`: which provider blocked which client."""

from typing import Any

from shared.events.blocks import BlockChanged


class BlockList:
    """Latest block state per provider-client pair."""

    def __init__(self, db: Any) -> None:
        self._blocks = db["blocks"]

    async def ensure_indexes(self) -> None:
        """Pairs are the document ids; nothing else is queried."""

    async def apply(self, change: BlockChanged) -> None:
        """Record the pair's latest state (the topic keeps per-pair order, so latest wins)."""
        await self._blocks.update_one(
            {"_id": f"{change.provider_id}:{change.client_id}"},
            {
                "$set": {
                    "practice_id": change.practice_id,
                    "provider_id": change.provider_id,
                    "client_id": change.client_id,
                    "blocked": change.blocked,
                    "changed_at": change.occurred_at,
                    "source_event_id": str(change.event_id),
                }
            },
            upsert=True,
        )

    async def is_blocked(self, provider_id: str, client_id: str) -> bool:
        """True while the provider blocks the client."""
        doc = await self._blocks.find_one({"_id": f"{provider_id}:{client_id}"})
        return bool(doc and doc.get("blocked"))
