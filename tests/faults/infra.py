"""A private Kafka broker and FerretDB server for the tests that stop them.

The shared ones (127.0.0.1:9092 and :27017) serve other test runs: never stop those.
These run from the same jars and binary `make infra` prepared, on free loopback ports,
with data in a temporary directory, and are stopped and started again by PID.
"""

import asyncio
import base64
import hashlib
import logging
import os
import signal
import subprocess
import time
import uuid
from pathlib import Path

from aiokafka.admin import AIOKafkaAdminClient
from pymongo import AsyncMongoClient

from shared.topics import ensure_topics
from tests.receivers import free_port

ROOT = Path(__file__).resolve().parents[2]
CACHE = Path(
    os.environ.get("SECURE_MESSAGING_CACHE")
    or Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "secure-messaging"
)
KAFKA_LIBS = CACHE / "kafka-4.1.1" / "libs"


def ferretdb_binary() -> Path:
    """The binary infra.sh built: keyed by the wrapper's sources and patches, else the newest."""
    here = ROOT / "deploy/local/ferretdb"
    digest = hashlib.sha256()
    for path in [*sorted(here.glob("*.go")), here / "go.sum", *sorted(here.glob("*.patch"))]:
        digest.update(path.read_bytes())
    exact = CACHE / f"ferretdb-v1.24.2-{digest.hexdigest()[:12]}" / "ferretdb-local"
    if exact.exists():
        return exact
    built = sorted(CACHE.glob("ferretdb-v1.24.2-*/ferretdb-local"), key=lambda p: p.stat().st_mtime)
    if not built:
        raise RuntimeError(f"no FerretDB binary under {CACHE} (run `make infra`)")
    return built[-1]


def _stop(process: subprocess.Popen[bytes] | None, sig: int) -> None:
    if process is None or process.poll() is not None:
        return
    os.kill(process.pid, sig)
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        os.kill(process.pid, signal.SIGKILL)
        process.wait(timeout=15)


class PrivateKafka:
    """A single-node KRaft broker whose storage survives its restarts."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.port, self.controller = free_port(), free_port()
        self.bootstrap = f"127.0.0.1:{self.port}"
        self.conf = directory / "server.properties"
        self.log = directory / "server.log"
        self.process: subprocess.Popen[bytes] | None = None

    def _java(self) -> list[str]:
        return [
            "java",
            "-Xms128m",
            "-Xmx512m",
            "-XX:+UseSerialGC",
            "-XX:TieredStopAtLevel=1",
            f"-Dlog4j2.configurationFile={ROOT / 'deploy/local/log4j2.yaml'}",
            f"-Dkafka.logs.dir={self.directory}",
            "-cp",
            f"{KAFKA_LIBS}/*",
        ]

    def format(self) -> None:
        """Write the configuration and format empty storage."""
        self.conf.write_text(
            (ROOT / "deploy/local/kafka-server.properties")
            .read_text()
            .replace("127.0.0.1:9092", f"127.0.0.1:{self.port}")
            .replace("127.0.0.1:19093", f"127.0.0.1:{self.controller}")
            + f"\nlog.dirs={self.directory / 'data'}\noffsets.topic.num.partitions=3\n"
        )
        cluster_id = base64.urlsafe_b64encode(uuid.uuid4().bytes).rstrip(b"=").decode()
        subprocess.run(
            [
                *self._java(),
                "kafka.tools.StorageTool",
                "format",
                "-t",
                cluster_id,
                "-c",
                str(self.conf),
            ],
            check=True,
            capture_output=True,
            timeout=90,
        )

    def start(self) -> None:
        """Start the broker on its ports (again)."""
        assert self.process is None or self.process.poll() is not None
        with self.log.open("ab") as out:
            self.process = subprocess.Popen(
                [*self._java(), "kafka.Kafka", str(self.conf)],
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
            )

    def kill(self) -> None:
        """SIGKILL, as in a crash of the broker's host."""
        _stop(self.process, signal.SIGKILL)

    def stop(self) -> None:
        """A graceful stop (SIGTERM), for the end of the session."""
        _stop(self.process, signal.SIGTERM)

    async def answers(self) -> bool:
        """The broker serves a metadata request."""
        logging.getLogger("aiokafka").setLevel(logging.CRITICAL)  # refusals expected meanwhile
        admin = AIOKafkaAdminClient(bootstrap_servers=self.bootstrap, request_timeout_ms=3000)
        try:
            await admin.start()
            await admin.list_topics()
            return True
        except Exception:
            return False
        finally:
            await admin.close()

    async def wait_ready(self, timeout: float = 120) -> float:
        """Wait until the broker answers; the seconds waited."""
        started = time.monotonic()
        while time.monotonic() - started < timeout:
            if self.process is not None and self.process.poll() is not None:
                raise AssertionError(f"private Kafka exited; see {self.log}")
            if await self.answers():
                return time.monotonic() - started
            await asyncio.sleep(0.5)
        raise AssertionError(f"private Kafka not ready within {timeout}s; see {self.log}")


class PrivateFerretDB:
    """A FerretDB (SQLite) server whose data directory survives its restarts."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        (directory / "data").mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        self.url = f"mongodb://127.0.0.1:{self.port}/"
        self.log = directory / "server.log"
        self.binary = ferretdb_binary()
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        """Start the server on its port (again)."""
        assert self.process is None or self.process.poll() is not None
        sqlite = f"file:{self.directory / 'data'}/?_pragma=synchronous(NORMAL)"
        with self.log.open("ab") as out:
            self.process = subprocess.Popen(
                [
                    str(self.binary),
                    f"--listen-addr=127.0.0.1:{self.port}",
                    f"--sqlite-url={sqlite}",
                ],
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
            )

    def kill(self) -> None:
        """SIGKILL, as in a crash of the database's host."""
        _stop(self.process, signal.SIGKILL)

    def stop(self) -> None:
        """A graceful stop (SIGTERM), for the end of the session."""
        _stop(self.process, signal.SIGTERM)

    async def answers(self) -> bool:
        """The server answers a ping."""
        client: AsyncMongoClient = AsyncMongoClient(self.url, serverSelectionTimeoutMS=1000)  # type: ignore[type-arg]
        try:
            await client.admin.command("ping")
            return True
        except Exception:
            return False
        finally:
            await client.close()

    async def wait_ready(self, timeout: float = 60) -> float:
        """Wait until the server answers; the seconds waited."""
        started = time.monotonic()
        while time.monotonic() - started < timeout:
            if self.process is not None and self.process.poll() is not None:
                raise AssertionError(f"private FerretDB exited; see {self.log}")
            if await self.answers():
                return time.monotonic() - started
            await asyncio.sleep(0.2)
        raise AssertionError(f"private FerretDB not ready within {timeout}s; see {self.log}")


class PrivateInfra:
    """Both servers, started together, topics created."""

    def __init__(self, directory: Path) -> None:
        self.kafka = PrivateKafka(directory / "kafka")
        self.kafka.directory.mkdir(parents=True, exist_ok=True)
        self.ferretdb = PrivateFerretDB(directory / "ferretdb")

    async def start(self) -> None:
        """Format and start Kafka, start FerretDB, create every topic."""
        self.ferretdb.start()
        await asyncio.to_thread(self.kafka.format)
        self.kafka.start()
        await self.ferretdb.wait_ready()
        await self.kafka.wait_ready()
        await ensure_topics(self.kafka.bootstrap)

    def stop(self) -> None:
        """Stop both (by PID)."""
        self.kafka.stop()
        self.ferretdb.stop()
