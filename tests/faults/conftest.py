"""Fixtures of the fault suite: the four services on a Kafka and a FerretDB of its own.

The suite runs only when asked for by path (`pytest tests/faults`, `make test-faults`):
it kills and restarts processes for minutes, so a plain `pytest` leaves it out.
FAULTS_SOURCE_ROOT runs the services from another tree (say a `git archive` of a commit)
while this checkout is being edited.
"""

import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from tests.faults.infra import KAFKA_LIBS, PrivateInfra
from tests.faults.processes import ROOT, service_env
from tests.faults.receivers import PushGatewayServer, SmtpServer, push_gateway_server, smtp_server
from tests.faults.stack import Stack
from tests.support import unique

HERE = Path(__file__).resolve().parent


def pytest_ignore_collect(collection_path: Path, config: pytest.Config) -> bool | None:
    """Leave the suite out unless the command line names it (or something inside it)."""
    asked = [Path(str(arg).split("::")[0]).resolve() for arg in config.args]
    if any(a == HERE or HERE in a.parents for a in asked):
        return None
    return True if collection_path.is_relative_to(HERE) else None


@pytest.fixture(autouse=True)
def wall_time(request: pytest.FixtureRequest) -> Iterator[None]:
    """Print each test's wall time (set-up of the stacks it starts included)."""
    started = time.monotonic()
    yield
    print(
        f"\n[faults] {request.node.name}: wall time {time.monotonic() - started:.1f} s", flush=True
    )


@pytest.fixture(scope="session")
def smtp() -> Iterator[SmtpServer]:
    with smtp_server() as server:
        yield server


@pytest.fixture(scope="session")
async def push() -> AsyncIterator[PushGatewayServer]:
    async with push_gateway_server() as server:
        yield server


@pytest.fixture(scope="session")
async def private_infra(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[PrivateInfra]:
    """A Kafka broker and a FerretDB server of our own, which tests may stop."""
    if not KAFKA_LIBS.is_dir():
        pytest.skip(f"Kafka jars not in {KAFKA_LIBS} (`make infra` fetches them)")
    infra = PrivateInfra(tmp_path_factory.mktemp("private-infra"))
    try:
        await infra.start()
        yield infra
    finally:
        infra.stop()


@pytest.fixture(scope="session")
async def stack(
    private_infra: PrivateInfra, push: PushGatewayServer, smtp: SmtpServer
) -> AsyncIterator[Stack]:
    """The four services on the private broker and database (readiness: the database only).

    Every fault test runs here: the shared broker and database serve other test runs,
    which must never see our poison or outages, and whose traffic must not blur our figures.
    """
    run_id = unique("faults_")
    env = service_env(
        run_id=run_id,
        kafka=private_infra.kafka.bootstrap,
        mongo=private_infra.ferretdb.url,
        push_url=push.stub.url,
        smtp_port=smtp.port,
        NOTIFY_LEASE_SECONDS="15",
        # A broker of our own: groups may start from the beginning, as in production.
        KAFKA_AUTO_OFFSET_RESET="earliest",
        KAFKA_READY_REQUIRES_ASSIGNMENT="false",
    )
    stack = Stack.create(
        run_id=run_id,
        kafka=private_infra.kafka.bootstrap,
        mongo=private_infra.ferretdb.url,
        env=env,
        logs=ROOT / ".local" / "faults" / run_id,
        push=push,
        smtp=smtp,
    )
    try:
        await stack.start()
        yield stack
    finally:
        stack.stop()
