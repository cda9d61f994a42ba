"""Kafka consumers of the announcements service: one thin function per topic."""

from faststream.kafka import KafkaBroker

from services.announcements.deps import Deps
from services.announcements.settings import AnnouncementsSettings
from shared import topics
from shared.events.announcements import AnnouncementPublished
from shared.events.clients import ClientRecordChanged
from shared.events.notify import DeliveryRecorded
from shared.kafka import batch_options
from shared.kafka_context import KafkaMessage, from_context


def register_subscribers(broker: KafkaBroker, settings: AnnouncementsSettings) -> None:
    """Attach the service's consumers to the broker (and document what it publishes)."""

    @broker.subscriber(
        topics.PRACTICE_CLIENTS,
        # A directory import arrives as thousands of records: a batch costs one read of
        # each client and of the rosters it touches.
        **batch_options(settings, "announcements.clients", max_records=500),
    )
    async def on_client_records(
        events: list[ClientRecordChanged], message: KafkaMessage, deps: Deps = from_context("deps")
    ) -> None:
        # A practice's roster is kept per partition, written by the partition's owner only.
        partitions = [r.partition for r in message.raw_message]
        await deps.projections.record_clients(events, partitions)

    @broker.subscriber(
        topics.MESSAGING_ANNOUNCEMENTS,
        # The lists wait on it (a send shows in them once applied): no linger. A batch
        # costs one read of its announcements and of the timelines' last pages.
        **batch_options(settings, "announcements.timelines", max_records=500),
    )
    async def on_published(
        events: list[AnnouncementPublished],
        message: KafkaMessage,
        deps: Deps = from_context("deps"),
    ) -> None:
        # A timeline is kept per partition, written by the partition's owner only.
        partitions = [r.partition for r in message.raw_message]
        await deps.listing.record_published(events, partitions)

    @broker.subscriber(
        topics.MESSAGING_DELIVERIES,
        # Stats are read, not waited on: a batch lingers so that a busy stream of direct
        # messages' outcomes (which it skips) costs one batch per 100 ms, not one each; a
        # fan-out's three outcomes per recipient are counted 2,000 at a time.
        **batch_options(settings, "announcements.deliveries", max_records=2000, linger=0.1),
    )
    async def on_deliveries(
        events: list[DeliveryRecorded], message: KafkaMessage, deps: Deps = from_context("deps")
    ) -> None:
        # Counting exactly once needs each record's place in its partition.
        positions = [(r.partition, r.offset) for r in message.raw_message]
        await deps.projections.record_deliveries(events, positions)
