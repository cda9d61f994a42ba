"""The local projection of `messaging.blocks.v1`: which provider blocked which client."""

from typing import Any

from shared.events.blocks import BlockChanged


class BlockList:
    """Latest block state per provider-client pair."""

    def __init__(self, db: Any) -> None:
        self._blocks = db["blocks"]

    async def ensure_indexes(self) -> None:
        """Pairs are the document ids; nothing else is queried."""

    async def apply(self, change: BlockChanged) -> bool:
        """Record the pair's state unless a later change is already recorded; True if applied.

        Only the consumer owning the pair's partition writes here, so reading then writing
        is safe; the time guard keeps a replayed or reordered old event from undoing a
        newer block or unblock.
        """
        _id = f"{change.provider_id}:{change.client_id}"
        current = await self._blocks.find_one({"_id": _id})
        if (
            current is not None
            and current.get("changed_at")
            and (current["changed_at"] > change.occurred_at)
        ):
            return False
        await self._blocks.update_one(
            {"_id": _id},
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
        return True

    async def is_blocked(self, provider_id: str, client_id: str) -> bool:
        """True while the provider blocks the client."""
        doc = await self._blocks.find_one({"_id": f"{provider_id}:{client_id}"})
        return bool(doc and doc.get("blocked"))
