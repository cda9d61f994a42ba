"""Kafka consumers of the blocking service: one thin function per topic."""

from faststream.kafka import KafkaBroker

from services.blocking.deps import Deps
from services.blocking.settings import BlockingSettings
from shared import topics
from shared.events.blocks import BlockChanged
from shared.events.clients import ClientRecordChanged
from shared.kafka import batch_options, consumer_options
from shared.kafka_context import KafkaMessage, from_context


def register_subscribers(broker: KafkaBroker, settings: BlockingSettings) -> None:
    """Attach the service's consumers to the broker."""

    @broker.subscriber(topics.PRACTICE_CLIENTS, **consumer_options(settings, "blocking.clients"))
    async def on_client_record(
        event: ClientRecordChanged, deps: Deps = from_context("deps")
    ) -> None:
        await deps.client_projection.record(event)

    @broker.subscriber(
        topics.MESSAGING_BLOCKS,
        # The lists are read from their own requests' ends (`wait_listed`): no linger.
        **batch_options(settings, "blocking.lists", max_records=500),
    )
    async def on_block_changes(
        events: list[BlockChanged], message: KafkaMessage, deps: Deps = from_context("deps")
    ) -> None:
        # A provider's list is kept per partition, written by the partition's owner only.
        partitions = [r.partition for r in message.raw_message]
        await deps.list_projection.record(events, partitions)
