"""Topic names and how each topic is created; `python -m shared.topics` creates them all."""

import asyncio
import contextlib
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError

PRACTICE_CLIENTS = "practice.clients.v1"
PRACTICE_PROVIDERS = "practice.providers.v1"
MESSAGING_SETTINGS = "messaging.settings.v1"
MESSAGING_THREADS = "messaging.threads.v1"
MESSAGING_MESSAGES = "messaging.messages.v1"
MESSAGING_CHART = "messaging.chart.v1"
MESSAGING_BLOCKS = "messaging.blocks.v1"
MESSAGING_ANNOUNCEMENTS = "messaging.announcements.v1"
MESSAGING_NOTIFICATIONS = "messaging.notifications.v1"
MESSAGING_DELIVERIES = "messaging.deliveries.v1"
# Internal to threads: view snapshots keyed by participant, feeding each inbox.
MESSAGING_INBOX = "messaging.inbox.v1"
# Access records of every service, keyed by practice: each practice's audit hash chain.
MESSAGING_AUDIT = "messaging.audit.v1"

DLQ_SUFFIX = ".dlq"


def dlq(topic: str) -> str:
    """The dead-letter topic of a topic."""
    return topic + DLQ_SUFFIX


@dataclass(frozen=True)
class TopicSpec:
    """How one topic is created."""

    name: str
    partitions: int = 6
    config: dict[str, str] = field(default_factory=dict)


_COMPACTED = {"cleanup.policy": "compact", "min.compaction.lag.ms": "60000"}

TOPICS: tuple[TopicSpec, ...] = (
    TopicSpec(PRACTICE_CLIENTS, config=_COMPACTED),
    TopicSpec(PRACTICE_PROVIDERS, partitions=3, config=_COMPACTED),
    TopicSpec(MESSAGING_SETTINGS, partitions=3, config=_COMPACTED),
    TopicSpec(MESSAGING_THREADS),
    TopicSpec(MESSAGING_MESSAGES),
    TopicSpec(MESSAGING_CHART),
    TopicSpec(MESSAGING_BLOCKS, config=_COMPACTED),
    # Announcement parts carry up to 1,000 recipient ids each.
    TopicSpec(MESSAGING_ANNOUNCEMENTS, partitions=3),
    TopicSpec(MESSAGING_NOTIFICATIONS, partitions=12),
    TopicSpec(MESSAGING_DELIVERIES),
    TopicSpec(MESSAGING_INBOX),
    TopicSpec(MESSAGING_AUDIT, config={"retention.ms": str(30 * 24 * 3600 * 1000)}),
)

ALL_TOPICS: tuple[TopicSpec, ...] = TOPICS + tuple(
    TopicSpec(dlq(t.name), partitions=1, config={"retention.ms": str(30 * 24 * 3600 * 1000)})
    for t in TOPICS
)


def partitions_of(topic: str) -> int:
    """The partitions a topic is created with (a consumer may learn of more later)."""
    return next(spec.partitions for spec in TOPICS if spec.name == topic)


async def ensure_topics(
    bootstrap_servers: str,
    specs: tuple[TopicSpec, ...] = ALL_TOPICS,
    *,
    security: Mapping[str, Any] | None = None,
    replication_factor: int = 1,
    min_insync_replicas: int = 1,
) -> None:
    """Create any missing topic; existing topics are left as they are.

    `security`: aiokafka's TLS/SASL arguments (`shared.kafka.client_options`).
    Production runs 3 replicas with `min.insync.replicas` 2: with the producers' `acks=all`,
    an acknowledged event then survives the loss of any one broker. A single development
    broker can only hold 1 and 1.
    """
    durability = {"min.insync.replicas": str(min_insync_replicas)}
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap_servers, **(security or {}))
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        missing = [
            NewTopic(
                s.name,
                num_partitions=s.partitions,
                replication_factor=replication_factor,
                topic_configs={**durability, **s.config},
            )
            for s in specs
            if s.name not in existing
        ]
        if missing:
            # Another process may create them at the same moment.
            with contextlib.suppress(TopicAlreadyExistsError):
                await admin.create_topics(missing)
    finally:
        await admin.close()


if __name__ == "__main__":
    from shared.kafka import client_options
    from shared.settings import KafkaSettings

    logging.basicConfig(level=logging.WARNING)
    kafka = KafkaSettings()
    asyncio.run(
        ensure_topics(
            kafka.kafka_bootstrap_servers,
            security=client_options(kafka),
            replication_factor=kafka.kafka_replication_factor,
            min_insync_replicas=kafka.kafka_min_insync_replicas,
        )
    )
    print(f"[topics] {len(ALL_TOPICS)} topics present")
