"""Fixtures of the shared-wiring tests that talk to the real broker and database."""

from collections.abc import AsyncIterator
from typing import Any

import pytest
from faststream.kafka import KafkaBroker

from shared.kafka import create_broker
from shared.mongo import create_mongo_client
from shared.settings import KafkaSettings, MongoSettings
from tests.support import infra_env, unique


@pytest.fixture
async def broker() -> AsyncIterator[KafkaBroker]:
    """A started FastStream broker on the test Kafka."""
    b = create_broker(
        KafkaSettings(kafka_bootstrap_servers=infra_env()["kafka_bootstrap_servers"]), client_id="t"
    )
    async with b:
        await b.start()
        yield b


@pytest.fixture
async def db() -> AsyncIterator[Any]:
    """A database of the test's own, dropped after it."""
    mongo = create_mongo_client(MongoSettings(mongodb_url=infra_env()["mongodb_url"]))
    name = unique("test_shared_")
    yield mongo[name]
    await mongo.drop_database(name)
    await mongo.close()
