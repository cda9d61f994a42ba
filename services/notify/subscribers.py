"""Kafka consumers of the notify service: one thin function per topic and purpose, each
turning its event into domain terms (events.py) and calling its use cases."""

import asyncio
from typing import Annotated

from faststream.kafka import KafkaBroker
from pydantic import Field

from services.notify import events
from services.notify.deps import Deps
from services.notify.settings import NotifySettings
from shared import topics
from shared.events.announcements import AnnouncementPublished
from shared.events.clients import ClientRecordChanged
from shared.events.notify import NotificationRequested
from shared.events.threads import MessageSent, ThreadCreated, ThreadStateChanged
from shared.kafka import batch_options, consumer_options
from shared.kafka_context import from_context

# `messaging.threads.v1` carries several event types; `event_type` tells them apart.
ThreadEvent = Annotated[ThreadStateChanged | ThreadCreated, Field(discriminator="event_type")]


def register_subscribers(broker: KafkaBroker, settings: NotifySettings) -> None:
    """Attach the service's consumers to the broker."""

    @broker.subscriber(
        topics.MESSAGING_ANNOUNCEMENTS, **consumer_options(settings, "notify.fanout.announcements")
    )
    async def on_announcement(
        event: AnnouncementPublished, deps: Deps = from_context("deps")
    ) -> None:
        await deps.parts.accept(events.part_of(event))

    @broker.subscriber(
        topics.MESSAGING_MESSAGES, **batch_options(settings, "notify.fanout.messages", 500)
    )
    async def on_messages(batch: list[MessageSent], deps: Deps = from_context("deps")) -> None:
        # In batches: one record at a time (a publish and an insert each) kept up with
        # about 50 sends/s, and a push then waited seconds behind the others.
        # The owner of the events' partitions also keeps their live events for replay
        # (every instance's own live group shows them to that instance's streams).
        await asyncio.gather(
            deps.fanout.request(*(events.message_job(event) for event in batch)),
            deps.feed.keep(*(events.message_arrived(event) for event in batch)),
        )

    for worker in range(settings.notify_delivery_consumers):
        # The workers are identical: the AsyncAPI document lists the first.
        register_job_consumer(broker, settings, documented=worker == 0)

    @broker.subscriber(topics.PRACTICE_CLIENTS, **consumer_options(settings, "notify.clients"))
    async def on_client_record(
        event: ClientRecordChanged, deps: Deps = from_context("deps")
    ) -> None:
        await deps.projections.record_client(events.client_contact(event))

    @broker.subscriber(topics.MESSAGING_THREADS, **consumer_options(settings, "notify.read_state"))
    async def on_thread_event(event: ThreadEvent, deps: Deps = from_context("deps")) -> None:
        if isinstance(event, ThreadStateChanged):
            await asyncio.gather(
                deps.projections.record_read_state(events.read_state(event)),
                deps.feed.keep(events.unread_changed(event)),
            )

    register_live_subscribers(broker, settings)


def register_job_consumer(
    broker: KafkaBroker, settings: NotifySettings, *, documented: bool = True
) -> None:
    """One delivery worker: consumers of one group share the jobs topic's partitions."""

    @broker.subscriber(
        topics.MESSAGING_NOTIFICATIONS,
        **batch_options(settings, "notify.deliveries", 500),
        include_in_schema=documented,
    )
    async def on_jobs(
        batch: list[NotificationRequested], deps: Deps = from_context("deps")
    ) -> None:
        # In batches: one job at a time (a handful of round trips each) kept up with about
        # 50 a second per worker, and a push waited behind the jobs ahead of it.
        await deps.jobs.accept_all([events.job_of(event) for event in batch])


def register_live_subscribers(broker: KafkaBroker, settings: NotifySettings) -> None:
    """Each instance reads every live-worthy event itself, in groups of its own, and hands
    it to its open streams (the shared groups above store it for replay).

    The groups are named after the instance, so no group is left behind per start. A new
    instance's groups start from the newest events.
    """

    def live_group(name: str) -> dict[str, object]:
        # In batches: a batch reaches open streams at once.
        group = f"notify.live.{name}.{settings.notify_instance_id}"
        options = batch_options(settings, group, 500)
        options["auto_offset_reset"] = "latest"
        return options

    @broker.subscriber(topics.MESSAGING_MESSAGES, **live_group("messages"))
    async def live_messages(batch: list[MessageSent], deps: Deps = from_context("deps")) -> None:
        deps.feed.emit(*(events.message_arrived(event) for event in batch))

    @broker.subscriber(topics.MESSAGING_THREADS, **live_group("threads"))
    async def live_thread_events(
        batch: list[ThreadEvent], deps: Deps = from_context("deps")
    ) -> None:
        changed = (e for e in batch if isinstance(e, ThreadStateChanged))
        deps.feed.emit(*(events.unread_changed(event) for event in changed))
