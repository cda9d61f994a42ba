"""Driving the deployment from outside: restart it with the benchmark's settings, mint tokens,
publish clients as a practice system would, and set up practices, threads and devices over HTTP.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.rawhttp import Pool, bounded

ROOT = Path(__file__).resolve().parent.parent
SERVICES_SH = ROOT / "deploy" / "local" / "services.sh"
THREADS, BLOCKING, ANNOUNCEMENTS, NOTIFY = 8001, 8002, 8003, 8004
SERVICE_PORTS = {
    "threads": THREADS,
    "blocking": BLOCKING,
    "announcements": ANNOUNCEMENTS,
    "notify": NOTIFY,
}

# Limits are off for benchmark runs, as Synapse's are raised (DESIGN.md, contract v1.1).
RATE_LIMITS_OFF = {
    "RATE_LIMIT_SENDS_PER_MINUTE": "0",
    "RATE_LIMIT_SENDS_BURST": "0",
    "RATE_LIMIT_ANNOUNCEMENTS_PER_HOUR": "0",
    "ANNOUNCEMENTS_RATE_LIMIT_PER_HOUR": "0",
    "RATE_LIMIT_ANNOUNCEMENTS_BURST": "0",
}


# Each run stores into databases of its own, dropped before and after it: the "fresh"
# figures are those of an empty database (not of every earlier run's history, which the
# development databases keep), and f's 100,000 messages do not pile up run after run.
BENCH_DATABASES = {
    "THREADS_DATABASE": "bench_threads",
    "BLOCKING_DATABASE": "bench_blocking",
    "ANNOUNCEMENTS_DATABASE": "bench_announcements",
    "NOTIFY_DATABASE": "bench_notify",
}


def drop_bench_databases() -> None:
    """Drop the benchmark's databases (the services using them must be stopped)."""
    from pymongo import MongoClient

    with MongoClient(os.environ["MONGODB_URL"], serverSelectionTimeoutMS=10_000) as client:
        for name in BENCH_DATABASES.values():
            client.drop_database(name)


def bench_env(push_url: str, smtp_port: int) -> dict[str, str]:
    """The services' environment for a run: its own databases, receivers on loopback,
    limits off."""
    env = dict(os.environ)
    env.update(RATE_LIMITS_OFF)
    env.update(BENCH_DATABASES)
    # A direct message's email goes out 5 s after the send (15 minutes in production), so
    # the emails of a scenario's sends are attempted, and measured, within that scenario
    # and its settle, not 15 minutes later inside whichever scenario is running then (the
    # idle window included).
    env["NOTIFY_EMAIL_DELAY_SECONDS"] = "5"
    env.update(
        {
            "PUSH_GATEWAY_URL": push_url,
            "SMTP_HOST": "127.0.0.1",
            "SMTP_PORT": str(smtp_port),
            "SMTP_TLS": "false",
        }
    )
    return env


def services(action: str, env: dict[str, str] | None = None, *, attempts: int = 1) -> None:
    """`deploy/local/services.sh up|down`; `up` is retried (another agent may be mid-edit)."""
    for attempt in range(1, attempts + 1):
        proc = subprocess.run(
            ["bash", str(SERVICES_SH), action],
            cwd=ROOT,
            env=env or dict(os.environ),
            capture_output=True,
            text=True,
            timeout=300,
        )
        if proc.returncode == 0:
            return
        print(
            f"  services.sh {action} failed (attempt {attempt}): "
            f"{proc.stdout[-800:]}{proc.stderr[-800:]}"
        )
        if action == "up":
            subprocess.run(["bash", str(SERVICES_SH), "down"], cwd=ROOT, capture_output=True)
        if attempt < attempts:
            time.sleep(30)
    raise RuntimeError(f"services.sh {action} failed; see .local/services/*.log")


def restart_services(env: dict[str, str]) -> None:
    """Stop what runs and start the services with `env`, on empty benchmark databases."""
    services("down")
    drop_bench_databases()
    services("up", env, attempts=3)


# --- tokens ---------------------------------------------------------------------------


def _secret() -> str:
    secret = os.environ.get("MESSAGING_JWT_SECRET")
    if not secret:
        raise SystemExit("MESSAGING_JWT_SECRET is not set: run `make bench`")
    return secret


def token(sub: str, role: str, practice: str, *, admin: bool = False, ttl: int = 6 * 3600) -> str:
    """A development HS256 token (ops.devtoken's claims)."""
    from ops.devtoken import mint

    return mint(_secret(), sub=sub, role=role, practice_id=practice, admin=admin, ttl=ttl)


def run_id() -> str:
    """A short unique prefix for this run's ids."""
    return uuid.uuid4().hex[:8]


# --- the client directory (Kafka) ---------------------------------------------------------


async def publish_clients(practice: str, client_ids: list[str]) -> None:
    """Client records on practice.clients.v1 from one producer, as a practice system sends."""
    from aiokafka import AIOKafkaProducer

    from shared.events.clients import ClientRecordChanged
    from shared.kafka import cloudevent_headers

    producer = AIOKafkaProducer(
        bootstrap_servers=os.environ.get("KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:9092"),
        acks="all",
        linger_ms=20,
        max_batch_size=256 * 1024,
    )
    await producer.start()
    try:
        futures = []
        for i, client_id in enumerate(client_ids):
            record = ClientRecordChanged(
                practice_id=practice,
                client_id=client_id,
                first_name=f"Bench{i}",
                last_name=f"Client{i}",
                status="active",
            )
            headers = [
                (k, v.encode())
                for k, v in cloudevent_headers(record, "/bench/practice-system").items()
            ]
            futures.append(
                await producer.send(
                    record.TOPIC,
                    json.dumps(record.model_dump(mode="json")).encode(),
                    key=record.key().encode(),
                    headers=headers,
                )
            )
        await asyncio.gather(*futures)
    finally:
        await producer.stop()


# --- setup over HTTP ------------------------------------------------------------------------


@dataclass
class Practice:
    """A practice set up for a scenario: its provider(s), clients and threads."""

    practice_id: str
    admin_id: str
    admin_token: str
    clients: list[str] = field(default_factory=list)
    threads: dict[tuple[str, str], str] = field(default_factory=dict)  # (provider, client) -> id


async def expect(status_ok: tuple[int, ...], coro: Any, what: str) -> Any:
    """Await a Pool.call and insist on its status."""
    status, body = await coro
    if status not in status_ok:
        raise RuntimeError(f"{what}: HTTP {status} {str(body)[:300]}")
    return body


async def new_practice(pool: Pool, prefix: str) -> Practice:
    """A practice with messaging turned on by its admin provider."""
    practice_id = f"{prefix}-practice"
    admin_id = f"{prefix}-admin"
    admin_token = token(admin_id, "provider", practice_id, admin=True)
    await expect(
        (200, 204),
        pool.call(
            "PUT", THREADS, "/v1/practice/messaging", token=admin_token, json_body={"enabled": True}
        ),
        "enable messaging",
    )
    return Practice(practice_id, admin_id, admin_token)


async def open_thread(
    pool: Pool, practice: Practice, provider_id: str, client_id: str, *, timeout: float = 600.0
) -> str:
    """The pair's thread, waiting (bounded) until threads' directory projection knows the client."""
    tok = token(provider_id, "provider", practice.practice_id)
    began = time.monotonic()
    deadline = began + timeout
    warned = False
    while True:
        status, body = await pool.call(
            "POST", THREADS, "/v1/threads", token=tok, json_body={"client_id": client_id}
        )
        if status in (200, 201):
            thread_id = str(body["thread_id"])
            practice.threads[(provider_id, client_id)] = thread_id
            return thread_id
        if status != 404 or time.monotonic() > deadline:
            raise RuntimeError(f"open thread: HTTP {status} {str(body)[:300]}")
        if not warned and time.monotonic() - began > 30:
            warned = True
            print(f"  threads does not know client {client_id} after 30 s: its directory is behind")
        await asyncio.sleep(0.2)


async def open_threads(
    pool: Pool, practice: Practice, pairs: list[tuple[str, str]], *, concurrency: int = 16
) -> list[str]:
    """Threads for many (provider, client) pairs."""

    async def one(pair: tuple[str, str]) -> str:
        return await open_thread(pool, practice, pair[0], pair[1])

    return await bounded(concurrency, pairs, one)


async def register_devices(
    pool: Pool,
    practice: Practice,
    client_ids: list[str],
    pushkey_prefix: str,
    *,
    concurrency: int = 32,
) -> None:
    """One android device per client, pushkey = prefix + client id."""

    async def one(client_id: str) -> None:
        await expect(
            (200, 201),
            pool.call(
                "POST",
                NOTIFY,
                "/v1/me/devices",
                token=token(client_id, "client", practice.practice_id),
                json_body={"platform": "android", "token": pushkey_prefix + client_id},
            ),
            "register device",
        )

    await bounded(concurrency, client_ids, one)


async def wait_for_directory(
    pool: Pool, practice: Practice, count: int, *, timeout: float
) -> float:
    """Wait until announcements' directory holds `count` clients (its preview); seconds waited."""
    began = time.monotonic()
    status, body = 0, None
    while time.monotonic() - began < timeout:
        status, body = await pool.call(
            "POST",
            ANNOUNCEMENTS,
            "/v1/announcements/preview",
            token=practice.admin_token,
            json_body={"recipients": {"all_clients": True}},
        )
        if status == 200 and int(body.get("recipient_count", 0)) >= count:
            return time.monotonic() - began
        await asyncio.sleep(0.5)
    raise RuntimeError(f"announcements never saw {count} clients (last: {status} {body})")


def send_body(tag: str) -> str:
    """A send request's JSON body; `@N@` becomes the request's index."""
    return json.dumps({"body": "benchmark message @N@", "client_message_id": f"{tag}-@N@"})


def auth_json_headers(tok: str) -> str:
    """Header lines for an authenticated JSON request."""
    return f"Authorization: Bearer {tok}\r\nContent-Type: application/json\r\n"
