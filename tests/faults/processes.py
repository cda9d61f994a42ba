"""Service processes the fault tests start, kill, stop and start again, each by its PID."""

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections.abc import Mapping
from pathlib import Path

import httpx

from tests.receivers import free_port

ROOT = Path(__file__).resolve().parents[2]
# Where the services' code is run from: this checkout unless told otherwise.
SOURCE = Path(os.environ.get("FAULTS_SOURCE_ROOT") or ROOT)
SERVICES = ("threads", "blocking", "announcements", "notify")


class ServiceProcess:
    """One instance of a service under uvicorn on its own port, kept across restarts."""

    def __init__(self, name: str, env: Mapping[str, str], log_path: Path) -> None:
        self.name = name
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = dict(env)
        if name == "notify":  # every notify process needs its own, kept across its restarts
            self.env["NOTIFY_INSTANCE_ID"] = f"faults-notify-{self.port}"
        self.log_path = log_path
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def pid(self) -> int | None:
        """The PID of the running process (None before the first start)."""
        return self.process.pid if self.process else None

    def running(self) -> bool:
        """True while the process started last is alive."""
        return self.process is not None and self.process.poll() is None

    def start(self) -> None:
        """Start the service (again) on its port; its output is appended to its log."""
        assert not self.running(), f"{self.name} is already running"
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
            "--timeout-graceful-shutdown",
            "20",
        ]
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(
                command, cwd=SOURCE, env=self.env, stdout=log, stderr=subprocess.STDOUT
            )

    def kill(self) -> None:
        """SIGKILL, as in a crash: no shutdown hook runs."""
        assert self.process is not None
        os.kill(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=15)

    def terminate(self, timeout: float = 40) -> float:
        """SIGTERM and wait for the graceful stop; returns how long it took."""
        if not self.running():
            return 0.0
        assert self.process is not None
        started = time.monotonic()
        os.kill(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.kill(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=15)
        return time.monotonic() - started

    async def ready(self, http: httpx.AsyncClient) -> bool:
        """The service answers its readiness probe with 200."""
        try:
            return (await http.get(f"{self.url}/health/ready")).status_code == 200
        except httpx.HTTPError:
            return False

    async def wait_ready(self, timeout: float = 120) -> float:
        """Wait (bounded) until ready; returns the seconds waited. Fails if the process died."""
        started = time.monotonic()
        async with httpx.AsyncClient(timeout=3) as http:
            while time.monotonic() - started < timeout:
                if not self.running():
                    raise AssertionError(f"{self.name} exited; see {self.log_path}")
                if await self.ready(http):
                    return time.monotonic() - started
                await asyncio.sleep(0.2)
        raise AssertionError(f"{self.name} not ready within {timeout}s; see {self.log_path}")


def service_env(
    *,
    run_id: str,
    kafka: str,
    mongo: str,
    push_url: str,
    smtp_port: int,
    **extra: str,
) -> dict[str, str]:
    """The environment of a test stack: own databases and groups, limits off, local receivers."""
    from tests.support import ENCRYPTION_KEYS, JWT_SECRET

    env = {
        **os.environ,
        "KAFKA_BOOTSTRAP_SERVERS": kafka,
        "MONGODB_URL": mongo,
        "KAFKA_GROUP_SUFFIX": f".{run_id}",
        "KAFKA_AUTO_OFFSET_RESET": "latest",
        "KAFKA_READY_REQUIRES_ASSIGNMENT": "true",
        "MESSAGING_JWT_SECRET": JWT_SECRET,
        "MESSAGING_ENCRYPTION_KEYS": ENCRYPTION_KEYS,
        "MESSAGING_ENCRYPTION_ACTIVE_KEY": "k1",
        "SMTP_HOST": "127.0.0.1",
        "SMTP_PORT": str(smtp_port),
        "SMTP_TLS": "false",
        "PUSH_GATEWAY_URL": push_url,
        "NOTIFY_EMAIL_DELAY_SECONDS": "2",
        "RATE_LIMIT_SENDS_PER_MINUTE": "0",
        "RATE_LIMIT_SENDS_BURST": "0",
        "RATE_LIMIT_ANNOUNCEMENTS_PER_HOUR": "0",
        **{f"{name.upper()}_DATABASE": f"{run_id}_{name}" for name in SERVICES},
    }
    env.update(extra)
    return env
