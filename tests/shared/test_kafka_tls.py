"""Transport security: a broker built from TLS settings talks to a Kafka that only speaks TLS.

The test makes its own CA, broker and client certificates, starts a second, throwaway Kafka
broker (from the jars `make infra` fetched) whose only client listener is SSL and which
requires client certificates, and publishes and consumes one event through it.
"""

import asyncio
import base64
import contextlib
import os
import signal
import subprocess
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

import pytest

from shared.events.base import Event
from shared.kafka import (
    EventPublisher,
    client_options,
    consumer_options,
    create_broker,
    wait_until_assigned,
)
from shared.settings import KafkaSettings
from shared.topics import TopicSpec, dlq, ensure_topics
from tests.pki import Pki, make_pki
from tests.receivers import free_port
from tests.support import unique

ROOT = Path(__file__).resolve().parents[2]
CACHE = Path(
    os.environ.get("SECURE_MESSAGING_CACHE")
    or Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "secure-messaging"
)
KAFKA_LIBS = CACHE / "kafka-4.1.1" / "libs"
TOPIC = "test.tls.v1"
START_TIMEOUT = 25.0

pytestmark = pytest.mark.skipif(
    not KAFKA_LIBS.is_dir(), reason=f"Kafka jars not in {KAFKA_LIBS} (`make infra` fetches them)"
)


class Pinged(Event):
    """A test event."""

    TOPIC: ClassVar[str] = TOPIC
    TYPE: ClassVar[str] = "test.tls.pinged"
    KEY_FIELD: ClassVar[str] = "ping_id"

    ping_id: str


def broker_properties(directory: Path, pki: Pki, port: int, controller: int) -> str:
    """A single-node KRaft broker whose only client listener is SSL, client certs required."""
    return f"""
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:{controller}
listeners=SSL://127.0.0.1:{port},CONTROLLER://127.0.0.1:{controller}
advertised.listeners=SSL://127.0.0.1:{port}
controller.listener.names=CONTROLLER
inter.broker.listener.name=SSL
listener.security.protocol.map=SSL:SSL,CONTROLLER:PLAINTEXT
ssl.keystore.type=PEM
ssl.keystore.location={pki.broker_keystore}
ssl.truststore.type=PEM
ssl.truststore.location={pki.ca}
ssl.client.auth=required
log.dirs={directory / "data"}
auto.create.topics.enable=false
num.partitions=1
offsets.topic.replication.factor=1
offsets.topic.num.partitions=1
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
group.initial.rebalance.delay.ms=0
"""


def _java(directory: Path) -> list[str]:
    return [
        "java",
        "-Xms128m",
        "-Xmx384m",
        "-XX:+UseSerialGC",
        "-XX:TieredStopAtLevel=1",
        f"-Dlog4j2.configurationFile={ROOT / 'deploy/local/log4j2.yaml'}",
        f"-Dkafka.logs.dir={directory}",
        "-cp",
        f"{KAFKA_LIBS}/*",
    ]


@dataclass
class TlsBroker:
    """The second broker: where it listens and its process."""

    bootstrap: str
    process: subprocess.Popen[bytes]
    log: Path


@contextlib.contextmanager
def tls_broker(directory: Path, pki: Pki) -> Iterator[TlsBroker]:
    """Format fresh storage, start the broker, and stop it (by PID) afterwards."""
    port, controller = free_port(), free_port()
    conf = directory / "server.properties"
    conf.write_text(broker_properties(directory, pki, port, controller))
    cluster_id = base64.urlsafe_b64encode(uuid.uuid4().bytes).rstrip(b"=").decode()
    subprocess.run(
        [*_java(directory), "kafka.tools.StorageTool", "format", "-t", cluster_id, "-c", str(conf)],
        check=True,
        capture_output=True,
        timeout=30,
    )
    log = directory / "server.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [*_java(directory), "kafka.Kafka", str(conf)],
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        yield TlsBroker(f"127.0.0.1:{port}", process, log)
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


def tls_settings(broker: TlsBroker, pki: Pki) -> KafkaSettings:
    return KafkaSettings(
        kafka_bootstrap_servers=broker.bootstrap,
        kafka_group_suffix="." + unique(),
        kafka_auto_offset_reset="earliest",
        kafka_security_protocol="SSL",
        kafka_ssl_ca_file=str(pki.ca),
        kafka_ssl_cert_file=str(pki.client_cert),
        kafka_ssl_key_file=str(pki.client_key),
    )


async def create_topic_once_up(broker: TlsBroker, settings: KafkaSettings) -> None:
    """Create the test topic over TLS, retrying while the broker starts."""
    specs = (TopicSpec(TOPIC, partitions=1), TopicSpec(dlq(TOPIC), partitions=1))
    deadline = time.monotonic() + START_TIMEOUT
    while True:
        assert broker.process.poll() is None, broker.log.read_text()[-3000:]
        try:
            await ensure_topics(
                settings.kafka_bootstrap_servers, specs, security=client_options(settings)
            )
            return
        except Exception:
            if time.monotonic() > deadline:
                raise
            await asyncio.sleep(0.25)


@pytest.mark.timeout(90)
async def test_a_broker_built_from_tls_settings_publishes_and_consumes_over_tls(
    tmp_path: Path,
) -> None:
    pki = make_pki(tmp_path)
    with tls_broker(tmp_path, pki) as broker:
        settings = tls_settings(broker, pki)
        await create_topic_once_up(broker, settings)
        kafka = create_broker(settings, client_id="tls-test")
        received: asyncio.Queue[Pinged] = asyncio.Queue()

        @kafka.subscriber(TOPIC, **consumer_options(settings, "test.tls"))
        async def consume(event: Pinged) -> None:
            await received.put(event)

        sent = Pinged(ping_id=unique("tls-"))
        async with kafka:
            await kafka.start()
            await wait_until_assigned(kafka, timeout=20)
            await EventPublisher(kafka, "/tests").publish(sent)
            got = await asyncio.wait_for(received.get(), timeout=20)

    assert got.event_id == sent.event_id
    assert broker.process.returncode is not None  # stopped by PID
