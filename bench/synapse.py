"""The peer: Matrix Synapse on this machine, installed into a benchmark-only venv.

Facts from ../shared/peers.md: one process, SQLite, one HTTP listener on 127.0.0.1 serving
only the client resource, federation off, rate limits raised, users registered with
the shared secret (register_new_matrix_user's protocol), one 1:1 room per sender.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

from bench.rawhttp import Pool, bounded

ROOT = Path(__file__).resolve().parent.parent
CACHE = (
    Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "secure-messaging" / "bench"
)
VENV = CACHE / "synapse-venv"
WORKDIR = ROOT / ".local" / "bench" / "synapse"
CONFIG = WORKDIR / "homeserver.yaml"
PIDFILE = WORKDIR / "synapse.pid"
SERVER_NAME = "localhost"
PASSWORD = "bench-password-0123456789"
HIGH = {"per_second": 100000, "burst_count": 100000}


def venv_python() -> Path:
    """The Synapse venv's interpreter."""
    return VENV / "bin" / "python"


def ensure_installed() -> str:
    """Install matrix-synapse into its own venv on first use; returns its version."""
    py = venv_python()
    check = [str(py), "-c", "import synapse; print(synapse.__version__)"]
    if py.exists():
        done = subprocess.run(check, capture_output=True, text=True)
        if done.returncode == 0:
            return done.stdout.strip()
    print("  installing matrix-synapse into", VENV, "(first run only)", flush=True)
    CACHE.mkdir(parents=True, exist_ok=True)
    base = getattr(sys, "_base_executable", None) or shutil.which("python3") or sys.executable
    subprocess.run([base, "-m", "venv", "--clear", str(VENV)], check=True)
    subprocess.run(
        [str(py), "-m", "pip", "install", "-q", "--upgrade", "pip", "matrix-synapse"],
        check=True,
        timeout=900,
    )
    return subprocess.run(check, capture_output=True, text=True, check=True).stdout.strip()


def free_port(preferred: int = 8008) -> int:
    """8008 when it is free, else any free loopback port."""
    import socket

    for port in (preferred, 0):
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return int(s.getsockname()[1])
    raise RuntimeError("no free port")


def configure(port: int) -> None:
    """A fresh data directory and a generated config, changed as peers.md describes."""
    import yaml

    if WORKDIR.exists():
        shutil.rmtree(WORKDIR)
    WORKDIR.mkdir(parents=True)
    subprocess.run(
        [
            str(venv_python()),
            "-m",
            "synapse.app.homeserver",
            "--server-name",
            SERVER_NAME,
            "--config-path",
            str(CONFIG),
            "--data-directory",
            str(WORKDIR),
            "--generate-config",
            "--report-stats=no",
        ],
        check=True,
        capture_output=True,
        cwd=WORKDIR,
        timeout=120,
    )
    config = yaml.safe_load(CONFIG.read_text())
    config["listeners"] = [
        {
            "port": port,
            "bind_addresses": ["127.0.0.1"],
            "type": "http",
            "tls": False,
            "x_forwarded": False,
            "resources": [{"names": ["client"], "compress": False}],
        }
    ]
    config["trusted_key_servers"] = []
    config["federation_domain_whitelist"] = []
    config["suppress_key_server_warning"] = True
    config["report_stats"] = False
    config["ip_range_whitelist"] = ["127.0.0.1"]
    # Only registration and login hash passwords: fewer rounds make the setup of 130 users
    # take seconds instead of minutes, and change nothing on the send path.
    config["bcrypt_rounds"] = 4
    for key in ("rc_message", "rc_room_creation", "rc_registration"):
        config[key] = dict(HIGH)
    config["rc_invites"] = {
        "per_room": dict(HIGH),
        "per_user": dict(HIGH),
        "per_issuer": dict(HIGH),
    }
    config["rc_joins"] = {"local": dict(HIGH), "remote": dict(HIGH)}
    config["rc_login"] = {
        "address": dict(HIGH),
        "account": dict(HIGH),
        "failed_attempts": dict(HIGH),
    }
    CONFIG.write_text(yaml.safe_dump(config, sort_keys=False))


@dataclass
class Synapse:
    """A running Synapse, its users and rooms."""

    port: int
    proc: subprocess.Popen[bytes] | None = None
    tokens: dict[str, str] = field(default_factory=dict)  # user -> access token
    rooms: list[tuple[str, str, str]] = field(default_factory=list)  # (room, sender, recipient)

    def start(self, timeout: float = 180.0) -> None:
        """Start the homeserver and wait until it answers (bounded)."""
        log = (WORKDIR / "stdout.log").open("wb")
        self.proc = subprocess.Popen(
            [str(venv_python()), "-m", "synapse.app.homeserver", "-c", str(CONFIG)],
            cwd=WORKDIR,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
        PIDFILE.write_text(str(self.proc.pid))
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(
                    f"synapse exited ({self.proc.returncode}); see {WORKDIR}/stdout.log"
                )
            try:
                url = f"http://127.0.0.1:{self.port}/_matrix/client/versions"
                with urllib.request.urlopen(url, timeout=2) as r:
                    if r.status == 200:
                        return
            except OSError:
                time.sleep(0.3)
        raise RuntimeError("synapse did not start in time")

    def stop(self) -> None:
        """SIGTERM by PID, then SIGKILL if it lingers."""
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
        PIDFILE.unlink(missing_ok=True)
        self.proc = None

    async def register(self, names: list[str], concurrency: int = 8) -> None:
        """Users made through the shared-secret registration API, as register_new_matrix_user does.

        Same protocol as the tool (a nonce, then an HMAC-SHA1 of nonce, name, password and
        "notadmin" under `registration_shared_secret`), spoken in-process: a Python process per
        user costs seconds of CPU each on a loaded 2-core machine. The answer carries the
        access token, so no login follows.
        """
        import yaml

        secret = str(yaml.safe_load(CONFIG.read_text())["registration_shared_secret"]).encode()
        pool = Pool()

        async def one(name: str) -> None:
            status, body = await pool.call("GET", self.port, "/_synapse/admin/v1/register")
            if status != 200:
                raise RuntimeError(f"registration nonce: {status} {body}")
            nonce = body["nonce"]
            mac = hmac.new(secret, digestmod=hashlib.sha1)
            mac.update(
                b"\x00".join([nonce.encode(), name.encode(), PASSWORD.encode(), b"notadmin"])
            )
            status, body = await pool.call(
                "POST",
                self.port,
                "/_synapse/admin/v1/register",
                json_body={
                    "nonce": nonce,
                    "username": name,
                    "password": PASSWORD,
                    "admin": False,
                    "mac": mac.hexdigest(),
                },
            )
            if status != 200:
                raise RuntimeError(f"register {name}: {status} {body}")
            self.tokens[name] = body["access_token"]

        await bounded(concurrency, names, one)
        pool.close()

    async def make_rooms(self, pairs: list[tuple[str, str]]) -> None:
        """One direct 1:1 room per (sender, recipient): the sender creates, the other joins."""
        pool = Pool()

        async def one(pair: tuple[str, str]) -> tuple[str, str, str]:
            sender, recipient = pair
            status, body = await pool.call(
                "POST",
                self.port,
                "/_matrix/client/v3/createRoom",
                token=self.tokens[sender],
                json_body={
                    "preset": "trusted_private_chat",
                    "is_direct": True,
                    "invite": [f"@{recipient}:{SERVER_NAME}"],
                },
            )
            if status != 200:
                raise RuntimeError(f"createRoom: {status} {body}")
            room = body["room_id"]
            status, body = await pool.call(
                "POST",
                self.port,
                f"/_matrix/client/v3/rooms/{quote(room, safe='')}/join",
                token=self.tokens[recipient],
                json_body={},
            )
            if status != 200:
                raise RuntimeError(f"join: {status} {body}")
            return room, sender, recipient

        self.rooms = await bounded(4, pairs, one)
        pool.close()

    async def set_pusher(self, user: str, pushkey: str, url: str) -> None:
        """An HTTP pusher to the benchmark's push gateway."""
        pool = Pool()
        status, body = await pool.call(
            "POST",
            self.port,
            "/_matrix/client/v3/pushers/set",
            token=self.tokens[user],
            json_body={
                "kind": "http",
                "app_id": "bench.push",
                "pushkey": pushkey,
                "app_display_name": "bench",
                "device_display_name": "bench",
                "lang": "en",
                "data": {"url": url},
            },
        )
        pool.close()
        if status != 200:
            raise RuntimeError(f"pushers/set: {status} {body}")


def send_path(room: str, tag: str) -> str:
    """The send path of a room; `@N@` becomes the request index (the transaction id)."""
    return f"/_matrix/client/v3/rooms/{quote(room, safe='')}/send/m.room.message/{tag}-@N@"


SEND_BODY = '{"msgtype":"m.text","body":"benchmark message @N@"}'
