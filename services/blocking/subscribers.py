"""Kafka consumers of the blocking service: one thin function per topic."""

from faststream.kafka import KafkaBroker

from services.blocking.deps import Deps
from services.blocking.settings import BlockingSettings
from shared import topics
from shared.events.clients import ClientRecordChanged
from shared.kafka import consumer_options
from shared.kafka_context import from_context


def register_subscribers(broker: KafkaBroker, settings: BlockingSettings) -> None:
    """Attach the service's consumers to the broker."""

    @broker.subscriber(topics.PRACTICE_CLIENTS, **consumer_options(settings, "blocking.clients"))
    async def on_client_record(
        event: ClientRecordChanged, deps: Deps = from_context("deps")
    ) -> None:
        await deps.client_projection.record(event)
