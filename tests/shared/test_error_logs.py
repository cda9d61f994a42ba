"""A 500 logs the exception's type only: no text or traceback reaches the process's output."""

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.receivers import free_port
from tests.support import JWT_SECRET, base_settings, unique

ROOT = Path(__file__).resolve().parents[2]
SENTINEL = "Sentinel-Grace-Hopper-93c1"


@contextlib.contextmanager
def uvicorn_process(env: dict[str, str], log: Path, *extra: str) -> Iterator[str]:
    """The failing app under the uvicorn CLI, as deploy/local/services.sh starts services."""
    port = free_port()
    command = [sys.executable, "-m", "uvicorn", "tests.shared.failing_app:create_app"]
    command += ["--factory", "--host", "127.0.0.1", "--port", str(port), *extra]
    with log.open("wb") as out:
        process = subprocess.Popen(
            command, cwd=ROOT, env=env, stdin=subprocess.DEVNULL, stdout=out, stderr=out
        )
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


def wait_live(url: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(f"{url}/health/live", timeout=2).status_code == 200:
                return
        time.sleep(0.1)
    raise AssertionError(f"{url} did not come up within {timeout}s")


def service_env() -> dict[str, str]:
    settings = base_settings(blocking_database=unique("test_blocking_"))
    env = {k.upper(): str(v) for k, v in settings.items()}
    return {**os.environ, **env, "MESSAGING_JWT_SECRET": JWT_SECRET, "FAILING_APP_TEXT": SENTINEL}


@pytest.mark.timeout(90)
def test_a_500_logs_the_exception_type_but_not_its_text(tmp_path: Path) -> None:
    log = tmp_path / "service.log"
    # Access log on (stricter than services.sh): the query string is data too.
    with uvicorn_process(service_env(), log) as url:
        wait_live(url)
        response = httpx.get(f"{url}/v1/test/fail", params={"q": SENTINEL}, timeout=10)

    output = log.read_text()
    assert response.status_code == 500
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["code"] == "internal_error"
    assert SENTINEL not in response.text
    assert '"exc_type": "RuntimeError"' in output  # the failure was logged...
    assert '"logger": "uvicorn.error"' in output  # ...by uvicorn too, through the formatter
    assert SENTINEL not in output  # ...without its text
    assert "Traceback" not in output
