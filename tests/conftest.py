"""Session-wide fixtures: the real broker and database must be reachable."""

import os
import shutil
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from pymongo import MongoClient


def docker_engine_available() -> bool:
    """A docker client alone is not enough: the engine must answer."""
    if not shutil.which("docker"):
        return False
    return (
        subprocess.run(["docker", "info"], capture_output=True, check=False, timeout=20).returncode
        == 0
    )


@contextmanager
def dropping_test_databases(url: str) -> Iterator[None]:
    """Drop the databases this run created: FerretDB opens every stored one at start."""
    with MongoClient(url, serverSelectionTimeoutMS=5000) as client:
        before = set(client.list_database_names())
        yield
        for name in set(client.list_database_names()) - before:
            if name.startswith(("test_", "e2e")):
                client.drop_database(name)


@pytest.fixture(scope="session", autouse=True)
def infrastructure() -> Iterator[None]:
    """Use the broker and database the Makefile started, or testcontainers where Docker runs."""
    if os.environ.get("KAFKA_BOOTSTRAP_SERVERS") and os.environ.get("MONGODB_URL"):
        with dropping_test_databases(os.environ["MONGODB_URL"]):
            yield
        return
    if not docker_engine_available():
        pytest.exit("Set KAFKA_BOOTSTRAP_SERVERS and MONGODB_URL (run `make test`).", returncode=2)
    from testcontainers.kafka import KafkaContainer
    from testcontainers.mongodb import MongoDbContainer

    with (
        KafkaContainer("apache/kafka:4.1.1").with_kraft() as kafka,
        MongoDbContainer("mongo:7") as mongo,
    ):
        os.environ["KAFKA_BOOTSTRAP_SERVERS"] = kafka.get_bootstrap_server()
        os.environ["MONGODB_URL"] = mongo.get_connection_url()
        import asyncio

        from shared.topics import ensure_topics

        asyncio.run(ensure_topics(os.environ["KAFKA_BOOTSTRAP_SERVERS"]))
        yield
