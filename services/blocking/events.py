"""Events derived from the domain's state, for the outbox (ids stable per revision)."""

from services.blocking.domain import Block
from shared.events.base import Event
from shared.events.blocks import BlockChanged
from shared.ids import stable_uuid


def block_events(block: Block) -> list[Event]:
    """The event a pair's revision publishes; republishing it is harmless (same id)."""
    return [
        BlockChanged(
            event_id=stable_uuid(block.id, block.rev, "block"),
            occurred_at=block.changed_at,
            practice_id=block.practice_id,
            provider_id=block.provider_id,
            client_id=block.client_id,
            blocked=block.blocked,
        )
    ]
