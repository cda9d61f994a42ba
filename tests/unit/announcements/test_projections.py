"""What the consumers record (the Projections use case) on in-memory stores."""

from services.announcements.domain import Outcome, Tally
from shared.events.clients import ClientRecordChanged
from shared.events.notify import DeliveryRecorded, DeliveryStatus, Source
from tests.unit.announcements.world import World


def delivery(
    source: Source, recipient: str, status: DeliveryStatus = "delivered"
) -> DeliveryRecorded:
    return DeliveryRecorded(
        source=source,
        source_id="a1",
        practice_id="pr1",
        recipient_id=recipient,
        channel="inbox",
        status=status,
    )


async def test_announcement_outcomes_are_counted_at_their_positions() -> None:
    world = World()

    await world.projections.record_deliveries(
        [delivery("announcement", "c1"), delivery("announcement", "c2")], [(3, 10), (3, 11)]
    )

    assert world.counts.applied == [
        [
            Outcome("a1", "pr1", "c1", "inbox", "delivered", 3, 10),
            Outcome("a1", "pr1", "c2", "inbox", "delivered", 3, 11),
        ]
    ]
    assert await world.counts.tally("a1") == Tally(delivered=2)


async def test_direct_message_outcomes_are_not_counted() -> None:
    world = World()

    await world.projections.record_deliveries(
        [delivery("direct_message", "c1"), delivery("announcement", "c2")], [(0, 1), (0, 2)]
    )

    assert [o.recipient_id for o in world.counts.applied[0]] == ["c2"]


async def test_a_client_record_is_projected() -> None:
    world = World()

    await world.projections.record_clients(
        [
            ClientRecordChanged(
                practice_id="pr9", client_id="z", first_name="Ada", last_name="L", status="active"
            )
        ],
        [2],
    )

    assert world.clients.clients["z"] == ("pr9", "active")
