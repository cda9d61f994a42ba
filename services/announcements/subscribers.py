"""Kafka consumers of the announcements service: one thin function per topic."""

from faststream import Context
from faststream.kafka import KafkaBroker

from services.announcements import handlers
from services.announcements.deps import Deps
from services.announcements.settings import AnnouncementsSettings
from shared import topics
from shared.events.clients import ClientRecordChanged
from shared.events.notify import DeliveryRecorded
from shared.kafka import consumer_options


def register_subscribers(broker: KafkaBroker, settings: AnnouncementsSettings) -> None:
    """Attach the service's consumers to the broker (and document what it publishes)."""

    @broker.subscriber(
        topics.PRACTICE_CLIENTS, **consumer_options(settings, "announcements.clients")
    )
    async def on_client_record(event: ClientRecordChanged, deps: Deps = Context("deps")) -> None:
        await handlers.record_client(event, clients=deps.clients)

    @broker.subscriber(
        topics.MESSAGING_DELIVERIES, **consumer_options(settings, "announcements.deliveries")
    )
    async def on_delivery(event: DeliveryRecorded, deps: Deps = Context("deps")) -> None:
        await handlers.record_delivery(event, outcomes=deps.outcomes)
