"""Kafka consumers of the threads service: one thin function per topic."""

from faststream import Context
from faststream.kafka import KafkaBroker

from services.threads import handlers
from services.threads.deps import Deps
from services.threads.settings import ThreadsSettings
from shared import topics
from shared.events.clients import ClientRecordChanged
from shared.kafka import consumer_options


def register_subscribers(broker: KafkaBroker, settings: ThreadsSettings) -> None:
    """Attach the service's consumers to the broker."""

    @broker.subscriber(topics.PRACTICE_CLIENTS, **consumer_options(settings, "threads.clients"))
    async def on_client_record(event: ClientRecordChanged, deps: Deps = Context("deps")) -> None:
        await handlers.record_client(event, clients=deps.clients)
