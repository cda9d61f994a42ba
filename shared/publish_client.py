"""Publish a client record as a practice system would (development aid).

python -m shared.publish_client --practice pr1 --client c1 --first Ada --last Lovelace
"""

import argparse
import asyncio

from faststream.kafka import KafkaBroker

from shared.events.base import Event
from shared.events.clients import ClientRecordChanged
from shared.kafka import EventPublisher, broker_security
from shared.settings import KafkaSettings


async def publish(record: Event) -> None:
    """Send one record to its topic (practice.clients.v1, practice.providers.v1)."""
    kafka = KafkaSettings()
    broker = KafkaBroker(kafka.kafka_bootstrap_servers, acks="all", security=broker_security(kafka))
    async with broker:
        await broker.start()
        await EventPublisher(broker, "/dev/practice-system").publish(record)


def main() -> None:
    """Parse the arguments and publish."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--practice", required=True)
    parser.add_argument("--client", required=True)
    parser.add_argument("--first", required=True)
    parser.add_argument("--last", required=True)
    parser.add_argument("--email")
    parser.add_argument("--inactive", action="store_true")
    args = parser.parse_args()
    record = ClientRecordChanged(
        practice_id=args.practice,
        client_id=args.client,
        first_name=args.first,
        last_name=args.last,
        email=args.email,
        status="inactive" if args.inactive else "active",
    )
    asyncio.run(publish(record))
    print(f"published client {args.client}")


if __name__ == "__main__":
    main()
