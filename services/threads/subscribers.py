"""Kafka consumers of the threads service: one thin function per topic."""

from collections.abc import Callable

from aiokafka import ConsumerRebalanceListener
from faststream.kafka import KafkaBroker

from services.threads.deps import Deps
from services.threads.settings import ThreadsSettings
from shared import topics
from shared.events.audit import AccessRecorded
from shared.events.blocks import BlockChanged
from shared.events.clients import ClientRecordChanged
from shared.events.providers import ProviderRecordChanged
from shared.events.threads import InboxEntryChanged
from shared.kafka import batch_options, consumer_options
from shared.kafka_context import KafkaMessage, from_context


class ForgetWritten(ConsumerRebalanceListener):  # type: ignore[misc]
    """What a projection's consumer wrote is its to reuse only while it owns the partitions."""

    def __init__(self, broker: KafkaBroker, forget: Callable[[Deps], None]) -> None:
        self._broker = broker
        self._forget_in = forget

    def _forget(self) -> None:
        deps: Deps | None = self._broker.context.get("deps")
        if deps is not None:
            self._forget_in(deps)

    async def on_partitions_revoked(self, revoked: object) -> None:
        self._forget()

    async def on_partitions_assigned(self, assigned: object) -> None:
        self._forget()


def register_subscribers(broker: KafkaBroker, settings: ThreadsSettings) -> None:
    """Attach the service's consumers to the broker."""

    @broker.subscriber(
        topics.PRACTICE_CLIENTS,
        # A new group (it was "threads.clients"): it replays the compacted topic once,
        # which lists every client known before on the practices' rosters.
        **batch_options(settings, "threads.client_directory", max_records=500),
    )
    async def on_client_records(
        events: list[ClientRecordChanged], message: KafkaMessage, deps: Deps = from_context("deps")
    ) -> None:
        # A practice's roster is kept per partition, written by the partition's owner only.
        partitions = [r.partition for r in message.raw_message]
        await deps.directory.record_clients(events, partitions)

    @broker.subscriber(topics.MESSAGING_BLOCKS, **consumer_options(settings, "threads.blocks"))
    async def on_block_changed(event: BlockChanged, deps: Deps = from_context("deps")) -> None:
        await deps.directory.record_block(event)

    @broker.subscriber(topics.PRACTICE_PROVIDERS, **consumer_options(settings, "threads.providers"))
    async def on_provider_record(
        event: ProviderRecordChanged, deps: Deps = from_context("deps")
    ) -> None:
        await deps.directory.record_provider(event)

    @broker.subscriber(
        topics.MESSAGING_INBOX,
        **batch_options(settings, "threads.inbox", max_records=500),
        listener=ForgetWritten(broker, lambda deps: deps.inboxes.forget_written()),
    )
    async def on_inbox_entries(
        changes: list[InboxEntryChanged], deps: Deps = from_context("deps")
    ) -> None:
        await deps.inboxes.apply(changes)

    @broker.subscriber(
        topics.MESSAGING_AUDIT,
        # Nobody waits on the chain: a batch lingers, so appends come a few records at a time.
        **batch_options(settings, "threads.audit", max_records=500, linger=0.1),
        listener=ForgetWritten(broker, lambda deps: deps.audit_records.forget_written()),
    )
    async def on_access_records(
        records: list[AccessRecorded], deps: Deps = from_context("deps")
    ) -> None:
        await deps.audit_records.chain_records(records)
