"""The gateway (nginx, deploy/local/gateway.sh) as a test's own process, on free ports."""

import json
import os
import subprocess
from pathlib import Path
from typing import Any

from tests.receivers import free_port

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "deploy" / "local" / "gateway.sh"
UPSTREAM_VARS = {
    "threads": "THREADS_UPSTREAM",
    "blocking": "BLOCKING_UPSTREAM",
    "announcements": "ANNOUNCEMENTS_UPSTREAM",
    "notify": "NOTIFY_UPSTREAM",
}


def through_gateway() -> bool:
    """E2E_GATEWAY=1 sends the end-to-end suite's HTTP through a gateway of its own."""
    return os.environ.get("E2E_GATEWAY", "").lower() in {"1", "true", "yes"}


class GatewayProcess:
    """nginx rendered from deploy/gateway/ with the given upstreams; started and stopped by PID."""

    def __init__(
        self,
        run_dir: Path,
        upstreams: dict[str, str],
        *,
        tls: tuple[Path, Path] | None = None,
    ) -> None:
        self.run_dir = run_dir
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.tls_port = free_port() if tls else None
        self.tls_url = f"https://127.0.0.1:{self.tls_port}" if tls else None
        self._env = {
            **os.environ,
            "GATEWAY_DIR": str(run_dir),
            "GATEWAY_PORT": str(self.port),
            **{UPSTREAM_VARS[name]: address for name, address in upstreams.items()},
        }
        if tls:
            self._env.update(
                GATEWAY_TLS_CERT=str(tls[0]),
                GATEWAY_TLS_KEY=str(tls[1]),
                GATEWAY_TLS_PORT=str(self.tls_port),
            )

    def _run(self, command: str) -> None:
        subprocess.run(
            [str(SCRIPT), command], env=self._env, check=True, timeout=180, capture_output=True
        )

    def start(self) -> None:
        """Render the configuration and start nginx (installing it if missing)."""
        self._run("up")

    def stop(self) -> None:
        """Stop nginx by the PID the script recorded."""
        self._run("down")

    @property
    def pid(self) -> int:
        return int((self.run_dir / "gateway.pid").read_text())

    def access_log(self) -> list[dict[str, Any]]:
        """The gateway's JSON access lines so far."""
        path = self.run_dir / "logs" / "access.log"
        if not path.exists():
            return []
        return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
