"""The four services as real processes (uvicorn), driven over HTTP and Kafka."""

import contextlib
import os
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.receivers import PushGateway, SmtpServer, free_port, push_gateway, smtp_server
from tests.support import ENCRYPTION_KEYS, JWT_SECRET, eventually, infra_env, unique

ROOT = Path(__file__).resolve().parents[2]
SERVICES = ("threads", "blocking", "announcements", "notify")


@dataclass
class System:
    """Base URLs of the running services and the receivers they talk to."""

    urls: dict[str, str]
    push: PushGateway
    smtp: SmtpServer

    def client(self, service: str) -> httpx.AsyncClient:
        return httpx.AsyncClient(base_url=self.urls[service], timeout=10)


@pytest.fixture(scope="module")
def smtp() -> Iterator[SmtpServer]:
    with smtp_server() as server:
        yield server


# Module scope: the processes consume the shared topics, so they must be gone before
# other test modules publish there.
@pytest.fixture(scope="module")
async def system(smtp: SmtpServer) -> AsyncIterator[System]:
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
            "SMTP_HOST": smtp.host,
            "SMTP_PORT": str(smtp.port),
            "SMTP_TLS": "false",
            "PUSH_GATEWAY_URL": push.url,
            "NOTIFY_EMAIL_DELAY_SECONDS": "2",
            **{f"{name.upper()}_DATABASE": f"{run_id}_{name}" for name in SERVICES},
        }
        urls: dict[str, str] = {}
        processes: list[subprocess.Popen[bytes]] = []
        with contextlib.ExitStack() as files:
            for name in SERVICES:
                port = free_port()
                log = files.enter_context(open(logs / f"{run_id}-{name}.log", "wb"))
                processes.append(
                    subprocess.Popen(
                        [
                            sys.executable,
                            "-m",
                            "uvicorn",
                            f"services.{name}.app:create_app",
                            "--factory",
                            "--host",
                            "127.0.0.1",
                            "--port",
                            str(port),
                            "--no-access-log",
                        ],
                        cwd=ROOT,
                        env=env,
                        stdout=log,
                        stderr=subprocess.STDOUT,
                    )
                )
                urls[name] = f"http://127.0.0.1:{port}"
            try:
                async with httpx.AsyncClient(timeout=3) as http:

                    async def all_ready() -> bool:
                        for url in urls.values():
                            try:
                                if (await http.get(f"{url}/health/ready")).status_code != 200:
                                    return False
                            except httpx.HTTPError:
                                return False
                        return True

                    await eventually(all_ready, timeout=90)
                yield System(urls=urls, push=push, smtp=smtp)
            finally:
                for process in processes:
                    process.terminate()
                for process in processes:
                    try:
                        process.wait(timeout=15)
                    except subprocess.TimeoutExpired:
                        process.kill()
