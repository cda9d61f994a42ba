"""The four services as real processes (uvicorn), driven over HTTP and Kafka."""

import os
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.gateway_process import GatewayProcess, through_gateway
from tests.receivers import PushGatewayStub, SmtpStub, free_port, push_gateway, smtp_server
from tests.support import ENCRYPTION_KEYS, JWT_SECRET, eventually, infra_env, unique

ROOT = Path(__file__).resolve().parents[2]
SERVICES = ("threads", "blocking", "announcements", "notify")


class ServiceProcess:
    """One service running under uvicorn on a fixed port; can be killed and started again."""

    def __init__(self, name: str, env: dict[str, str], log_path: Path) -> None:
        self.name = name
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self._env = env
        self._log_path = log_path
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def log_path(self) -> Path:
        """Where the process's output (its JSON log lines) goes."""
        return self._log_path

    def start(self) -> None:
        command = [
            sys.executable,
            "-m",
            "uvicorn",
            f"services.{self.name}.app:create_app",
            "--factory",
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--no-access-log",
        ]
        with open(self._log_path, "ab") as log:
            self.process = subprocess.Popen(
                command, cwd=ROOT, env=self._env, stdout=log, stderr=subprocess.STDOUT
            )

    def kill(self) -> None:
        """SIGKILL: no shutdown hooks run, as in a crash."""
        assert self.process is not None
        self.process.kill()
        self.process.wait(timeout=15)

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()

    async def ready(self, http: httpx.AsyncClient) -> bool:
        try:
            return (await http.get(f"{self.url}/health/ready")).status_code == 200
        except httpx.HTTPError:
            return False


@dataclass
class System:
    """The running services and the receivers they talk to."""

    services: dict[str, ServiceProcess]
    push: PushGatewayStub
    smtp: SmtpStub
    # With E2E_GATEWAY=1, every client goes through a gateway (nginx) of this system's own.
    gateway: GatewayProcess | None = None

    @property
    def urls(self) -> dict[str, str]:
        return {name: s.url for name, s in self.services.items()}

    def client(self, service: str) -> httpx.AsyncClient:
        url = self.gateway.url if self.gateway else self.services[service].url
        return httpx.AsyncClient(base_url=url, timeout=10)

    async def wait_ready(self, timeout: float = 90) -> None:
        async with httpx.AsyncClient(timeout=3) as http:

            async def all_ready() -> bool:
                return all([await s.ready(http) for s in self.services.values()])

            await eventually(all_ready, timeout=timeout)

    async def restart(self, name: str) -> None:
        """Start a (crashed) service again and wait until everything is ready."""
        self.services[name].start()
        await self.wait_ready()


@pytest.fixture(scope="module")
def smtp() -> Iterator[SmtpStub]:
    with smtp_server() as server:
        yield server


# Module scope: the processes consume the shared topics, so they must be gone before
# other test modules publish there.
@pytest.fixture(scope="module")
async def system(smtp: SmtpStub) -> AsyncIterator[System]:
    """Start every service as its own process; stop each by PID afterwards."""
    run_id = unique("e2e")
    logs = ROOT / ".local" / "e2e"
    logs.mkdir(parents=True, exist_ok=True)
    async with push_gateway() as push:
        env = {
            **os.environ,
            "KAFKA_BOOTSTRAP_SERVERS": infra_env()["kafka_bootstrap_servers"],
            "MONGODB_URL": infra_env()["mongodb_url"],
            "KAFKA_GROUP_SUFFIX": f".{run_id}",
            "KAFKA_AUTO_OFFSET_RESET": "latest",
            "KAFKA_READY_REQUIRES_ASSIGNMENT": "true",
            "MESSAGING_JWT_SECRET": JWT_SECRET,
            "MESSAGING_ENCRYPTION_KEYS": ENCRYPTION_KEYS,
            "MESSAGING_ENCRYPTION_ACTIVE_KEY": "k1",
            "SMTP_HOST": "127.0.0.1",
            "SMTP_PORT": str(smtp.port),
            "SMTP_TLS": "false",
            "PUSH_GATEWAY_URL": push.url,
            "NOTIFY_EMAIL_DELAY_SECONDS": "2",
            # Its own live groups and work: never shared with another notify on this host.
            "NOTIFY_INSTANCE_ID": f"e2e-notify-{run_id}",
            # A crashed instance's claims expire quickly, so the crash tests stay short.
            "NOTIFY_LEASE_SECONDS": "6",
            # Limits on, but roomy: the crash tests send in volume from one client.
            "RATE_LIMIT_SENDS_BURST": "1000",
            **{f"{name.upper()}_DATABASE": f"{run_id}_{name}" for name in SERVICES},
        }
        services = {
            name: ServiceProcess(name, env, logs / f"{run_id}-{name}.log") for name in SERVICES
        }
        system = System(services=services, push=push, smtp=smtp)
        if through_gateway():
            upstreams = {name: f"127.0.0.1:{s.port}" for name, s in services.items()}
            system.gateway = GatewayProcess(logs / f"{run_id}-gateway", upstreams)
        try:
            for service in services.values():
                service.start()
            if system.gateway:
                system.gateway.start()
            await system.wait_ready()
            yield system
        finally:
            if system.gateway:
                system.gateway.stop()
            for service in services.values():
                service.stop()
