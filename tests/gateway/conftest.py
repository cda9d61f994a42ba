"""The four services as processes (as tests/e2e starts them) behind a gateway of their own."""

from collections.abc import Iterator

import pytest

from tests.e2e.conftest import ROOT, System, smtp, system  # noqa: F401  (fixtures reused)
from tests.gateway_process import GatewayProcess
from tests.support import unique


@pytest.fixture(scope="module")
def gateway(system: System) -> Iterator[GatewayProcess]:  # noqa: F811
    """nginx rendered from deploy/gateway/ with the ports of this module's services."""
    upstreams = {name: f"127.0.0.1:{s.port}" for name, s in system.services.items()}
    process = GatewayProcess(ROOT / ".local" / "e2e" / unique("gateway-"), upstreams)
    process.start()
    try:
        yield process
    finally:
        process.stop()
