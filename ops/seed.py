"""Demo data: practices with their providers and clients, published as practice systems would.

Ids are derived from the prefix and positions, so seeding again republishes the same records
(the directory topics are compacted by id): harmless.
"""

import asyncio
from collections.abc import Callable, Iterable, Iterator

from faststream.kafka import KafkaBroker

from shared.events.base import Event
from shared.events.clients import ClientRecordChanged
from shared.events.providers import ProviderRecordChanged
from shared.kafka import EventPublisher, broker_security
from shared.settings import KafkaSettings

SOURCE = "/ops/seed"
# Records published at once (each awaits the broker's acknowledgement).
WINDOW = 200
FIRST = ("Ada", "Grace", "Alan", "Edsger", "Barbara", "Donald", "Frances", "Ken", "Radia", "Tim")
LAST = ("Lovelace", "Hopper", "Turing", "Dijkstra", "Liskov", "Knuth", "Allen", "Thompson")


def practice_id(prefix: str, p: int) -> str:
    """The id of the p-th demo practice."""
    return f"{prefix}pr-{p:05d}"


def provider_id(prefix: str, p: int, n: int) -> str:
    """The id of the n-th provider of the p-th practice (the first is its admin)."""
    return f"{prefix}p-{p:05d}-{n:03d}"


def client_id(prefix: str, p: int, n: int) -> str:
    """The id of the n-th client of the p-th practice."""
    return f"{prefix}c-{p:05d}-{n:07d}"


def records(prefix: str, practices: int, providers: int, clients: int) -> Iterator[Event]:
    """Every provider, then every client, practice by practice."""
    for p in range(1, practices + 1):
        for n in range(1, providers + 1):
            yield ProviderRecordChanged(
                practice_id=practice_id(prefix, p), provider_id=provider_id(prefix, p, n)
            )
        for n in range(1, clients + 1):
            cid = client_id(prefix, p, n)
            yield ClientRecordChanged(
                practice_id=practice_id(prefix, p),
                client_id=cid,
                first_name=FIRST[n % len(FIRST)],
                last_name=f"{LAST[(n // len(FIRST)) % len(LAST)]}-{n}",
                email=f"{cid}@example.test",
            )


async def seed(
    settings: KafkaSettings,
    *,
    prefix: str,
    practices: int,
    providers: int,
    clients: int,
    advance: Callable[[int], None],
) -> int:
    """Publish the demo directory; calls `advance(n)` as records are acknowledged."""
    return await publish(settings, records(prefix, practices, providers, clients), advance)


async def publish(
    settings: KafkaSettings,
    directory: Iterable[Event],
    advance: Callable[[int], None] = lambda _n: None,
) -> int:
    """Publish directory records (a window at a time) as a practice system would."""
    broker = KafkaBroker(
        settings.kafka_bootstrap_servers, acks="all", security=broker_security(settings)
    )
    published = 0
    async with broker:
        await broker.start()
        publisher = EventPublisher(broker, SOURCE)
        window: list[Event] = []
        for record in directory:
            window.append(record)
            if len(window) == WINDOW:
                published += await _publish(publisher, window, advance)
                window = []
        published += await _publish(publisher, window, advance)
    return published


async def _publish(
    publisher: EventPublisher, window: list[Event], advance: Callable[[int], None]
) -> int:
    await asyncio.gather(*(publisher.publish(r) for r in window))
    advance(len(window))
    return len(window)
