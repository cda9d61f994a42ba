"""The machine's HTTP ceiling: a do-nothing FastAPI endpoint under the services' uvicorn settings.

`create_app` is served by its own uvicorn process, started with the same flags that
deploy/local/services.sh gives the services (read from that script, so they stay in step).
The endpoint takes the body of a send (validated by a pydantic model) and answers 201 with a
small JSON document: no auth, no database, no broker.
"""

from __future__ import annotations

import re
import shlex
import subprocess
import time
from pathlib import Path
from typing import Any

from fastapi import FastAPI
from pydantic import BaseModel, ConfigDict

ROOT = Path(__file__).resolve().parent.parent
SERVICES_SH = ROOT / "deploy" / "local" / "services.sh"
DEFAULT_FLAGS = ["--no-access-log"]


class SendIn(BaseModel):
    """The body of a message send."""

    model_config = ConfigDict(extra="forbid")

    body: str
    client_message_id: str


def create_app() -> FastAPI:
    """The do-nothing service."""
    app = FastAPI()

    @app.post("/v1/threads/{thread_id}/messages", status_code=201)
    async def send(thread_id: str, payload: SendIn) -> dict[str, Any]:
        return {"thread_id": thread_id, "client_message_id": payload.client_message_id, "seq": 1}

    @app.get("/health/ready")
    async def ready() -> dict[str, str]:
        return {"status": "ok"}

    return app


def uvicorn_flags() -> list[str]:
    """The uvicorn options services.sh uses, minus the app, host and port."""
    try:
        text = SERVICES_SH.read_text()
    except OSError:
        return DEFAULT_FLAGS
    match = re.search(r"-m uvicorn(.*?)(?:<|>|\n\s*echo|$)", text.replace("\\\n", " "), re.S)
    if not match:
        return DEFAULT_FLAGS
    try:
        tokens = shlex.split(match.group(1))
    except ValueError:
        return DEFAULT_FLAGS
    flags: list[str] = []
    tokens = [t for t in tokens if t != "--factory"]
    i = 0
    while i < len(tokens):
        tok = tokens[i]
        has_value = (
            tok.startswith("--")
            and "=" not in tok
            and tok not in _BOOL_FLAGS
            and i + 1 < len(tokens)
            and not tokens[i + 1].startswith("-")
        )
        group = [tok, tokens[i + 1]] if has_value else [tok]
        i += len(group)
        if not tok.startswith("-"):
            continue  # the app itself
        if tok in ("--host", "--port") or tok.startswith(("--host=", "--port=")):
            continue
        if any("$" in t for t in group):
            continue  # a value only the script knows
        flags.extend(group)
    return flags or DEFAULT_FLAGS


_BOOL_FLAGS = {
    "--no-access-log",
    "--access-log",
    "--reload",
    "--proxy-headers",
    "--no-proxy-headers",
    "--use-colors",
    "--no-use-colors",
    "--server-header",
    "--no-server-header",
    "--date-header",
    "--no-date-header",
    "--factory",
}


def start(python: str, port: int, log: Path) -> subprocess.Popen[bytes]:
    """Serve the do-nothing app on 127.0.0.1:port; returns the process (caller stops it by PID)."""
    cmd = [
        python,
        "-m",
        "uvicorn",
        "bench.ceiling:create_app",
        "--factory",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        *uvicorn_flags(),
    ]
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("wb") as out:
        return subprocess.Popen(
            cmd, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL
        )


def wait_ready(port: int, timeout: float = 30.0) -> None:
    """Poll /health/ready (bounded)."""
    import urllib.request

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/health/ready", timeout=1) as r:
                if r.status == 200:
                    return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError("the ceiling app did not start")
