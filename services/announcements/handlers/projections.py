"""Projections of other systems' facts: the client records and the delivery outcomes."""

from dataclasses import dataclass

from services.announcements.domain import Outcome
from services.announcements.ports import ClientsPort, DeliveryCountsPort
from shared.events.clients import ClientRecordChanged
from shared.events.notify import DeliveryRecorded


@dataclass(frozen=True)
class Projections:
    """What the consumers record, bound to their ports by the composition root."""

    clients: ClientsPort
    counts: DeliveryCountsPort

    async def record_clients(
        self, records: list[ClientRecordChanged], partitions: list[int]
    ) -> None:
        """Project practice systems' client records (each from a partition of its topic)."""
        await self.clients.apply(list(zip(records, partitions, strict=True)))

    async def record_deliveries(
        self, events: list[DeliveryRecorded], positions: list[tuple[int, int]]
    ) -> None:
        """Count a batch of announcements' delivery outcomes (each at its partition and offset).

        Direct-message outcomes are not ours.
        """
        await self.counts.apply(
            [
                Outcome(
                    announcement_id=e.source_id,
                    practice_id=e.practice_id,
                    recipient_id=e.recipient_id,
                    channel=e.channel,
                    status=e.status,
                    partition=partition,
                    offset=offset,
                )
                for e, (partition, offset) in zip(events, positions, strict=True)
                if e.source == "announcement"
            ]
        )
