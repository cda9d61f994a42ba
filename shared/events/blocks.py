"""Events the blocking service publishes (`messaging.blocks.v1`, compacted)."""

from typing import ClassVar

from shared import topics
from shared.events.base import Event


class BlockChanged(Event):
    """A provider blocked or unblocked a client; the latest per pair is the truth."""

    TOPIC: ClassVar[str] = topics.MESSAGING_BLOCKS
    TYPE: ClassVar[str] = "messaging.block.changed"
    KEY_FIELD: ClassVar[str] = "provider_id"

    practice_id: str
    provider_id: str
    client_id: str
    blocked: bool

    def key(self) -> str:
        """Compaction key: one record per provider-client pair."""
        return f"{self.provider_id}:{self.client_id}"
