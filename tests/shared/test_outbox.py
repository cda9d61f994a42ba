"""The outbox relay republishes documents whose events stayed pending."""

import asyncio
from collections.abc import AsyncIterator, Mapping
from datetime import timedelta
from typing import Any

import pytest
from faststream.kafka import KafkaBroker

from shared.events.base import Event
from shared.events.blocks import BlockChanged
from shared.ids import stable_uuid
from shared.kafka import EventPublisher, create_broker
from shared.mongo import create_mongo_client
from shared.outbox import Outbox, pending_update
from shared.settings import KafkaSettings, MongoSettings
from shared.topics import MESSAGING_BLOCKS
from tests.support import TopicTail, body, infra_env, unique


@pytest.fixture
async def broker() -> AsyncIterator[KafkaBroker]:
    b = create_broker(
        KafkaSettings(kafka_bootstrap_servers=infra_env()["kafka_bootstrap_servers"]), client_id="t"
    )
    async with b:
        await b.start()
        yield b


async def derive(doc: Mapping[str, Any]) -> list[Event]:
    return [
        BlockChanged(
            event_id=stable_uuid(doc["_id"], doc["rev"], "block"),
            practice_id="pr",
            provider_id=doc["provider_id"],
            client_id=doc["client_id"],
            blocked=doc["blocked"],
        )
    ]


async def test_pending_document_is_published_by_the_relay_and_marked_published(
    broker: KafkaBroker,
) -> None:
    mongo = create_mongo_client(MongoSettings(mongodb_url=infra_env()["mongodb_url"]))
    collection = mongo[unique("test_outbox_")]["blocks"]
    outbox = Outbox(collection, derive, EventPublisher(broker, "/tests"), grace=timedelta(0))
    provider = unique("p-")
    # As if the process died right after the write, before publishing.
    await collection.insert_one(
        {
            "_id": f"{provider}:c1",
            "provider_id": provider,
            "client_id": "c1",
            "blocked": True,
            **pending_update(),
        }
    )
    async with TopicTail(MESSAGING_BLOCKS) as tail:
        assert await outbox.relay_once() == 1
        [record] = await tail.wait_for(lambda r: r.key == f"{provider}:c1".encode())

    assert body(record)["blocked"] is True
    assert (await collection.find_one({"_id": f"{provider}:c1"}))["pending"] is False
    assert await outbox.relay_once() == 0
    await mongo.close()


async def test_a_newer_revision_stays_pending_after_an_older_one_is_published(
    broker: KafkaBroker,
) -> None:
    mongo = create_mongo_client(MongoSettings(mongodb_url=infra_env()["mongodb_url"]))
    collection = mongo[unique("test_outbox_")]["blocks"]
    outbox = Outbox(collection, derive, EventPublisher(broker, "/tests"), grace=timedelta(0))
    doc = {"_id": "p:c", "provider_id": "p", "client_id": "c", "blocked": True, **pending_update()}
    await collection.insert_one(doc)
    await collection.update_one({"_id": "p:c"}, {"$set": {"blocked": False, **pending_update()}})

    await outbox.publish(doc)  # the stale revision finishes publishing late

    assert (await collection.find_one({"_id": "p:c"}))["pending"] is True
    await mongo.close()


class UnreachableBroker:
    """A publisher whose broker never answers, as during a broker outage."""

    async def publish_all(self, events: list[Event]) -> None:
        await asyncio.Event().wait()


async def test_write_is_not_held_up_by_an_unreachable_broker_and_the_relay_publishes_later(
    broker: KafkaBroker,
) -> None:
    mongo = create_mongo_client(MongoSettings(mongodb_url=infra_env()["mongodb_url"]))
    collection = mongo[unique("test_outbox_")]["blocks"]
    provider = unique("p-")
    doc = {
        "_id": f"{provider}:c1",
        "provider_id": provider,
        "client_id": "c1",
        "blocked": True,
        **pending_update(),
    }
    await collection.insert_one(doc)
    during_outage = Outbox(collection, derive, UnreachableBroker(), inline_timeout=0.2)  # type: ignore[arg-type]

    published_now = await during_outage.publish_soon(doc)

    assert published_now is False
    assert (await collection.find_one({"_id": doc["_id"]}))["pending"] is True
    recovered = Outbox(collection, derive, EventPublisher(broker, "/tests"), grace=timedelta(0))
    async with TopicTail(MESSAGING_BLOCKS) as tail:
        assert await recovered.relay_once() == 1
        await tail.wait_for(lambda r: r.key == doc["_id"].encode())
    await mongo.close()
