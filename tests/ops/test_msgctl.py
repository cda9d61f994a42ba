"""msgctl on the real broker and database, run as an operator runs it (a subprocess)."""

import asyncio
import json
import os
import sys
from dataclasses import dataclass
from typing import Any

import jwt

from services.blocking.app import create_app
from services.blocking.settings import BlockingSettings
from shared import topics
from shared.events.clients import ClientRecordChanged
from shared.events.providers import ProviderRecordChanged
from shared.kafka import wait_until_assigned
from tests.receivers import free_port, serve
from tests.support import (
    JWT_SECRET,
    TopicTail,
    base_settings,
    body,
    client_record,
    header,
    infra_env,
    producer,
    publish_json,
    running,
    unique,
)


@dataclass
class Run:
    """What a msgctl run printed and how it ended."""

    code: int
    out: str
    err: str


async def msgctl(*args: str, **env: str) -> Run:
    """Run `python -m ops ARGS` with the test's infrastructure (and any extra environment)."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "ops",
        *args,
        env={
            **os.environ,
            "KAFKA_BOOTSTRAP_SERVERS": infra_env()["kafka_bootstrap_servers"],
            "MONGODB_URL": infra_env()["mongodb_url"],
            "COLUMNS": "250",
            **env,
        },
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(), timeout=90)
    assert process.returncode is not None
    return Run(process.returncode, out.decode(), err.decode())


async def test_token_is_signed_with_the_secret_and_carries_the_claims() -> None:
    run = await msgctl(
        "token", "--role", "provider", "--sub", "p1", "--practice", "pr1", "--admin",
        MESSAGING_JWT_SECRET=JWT_SECRET,
    )  # fmt: skip
    assert run.code == 0, run.err
    claims = jwt.decode(run.out.strip(), JWT_SECRET, algorithms=["HS256"], audience="messaging")
    assert (claims["sub"], claims["role"], claims["practice_id"]) == ("p1", "provider", "pr1")
    assert claims["practice_admin"] is True and claims["exp"] - claims["iat"] == 3600


async def test_token_refuses_without_a_secret() -> None:
    run = await msgctl(
        "token", "--role", "client", "--sub", "c1", "--practice", "pr1", MESSAGING_JWT_SECRET=""
    )
    assert run.code == 2 and "MESSAGING_JWT_SECRET" in run.err


async def test_seed_publishes_providers_and_clients_of_each_practice() -> None:
    prefix = unique("seed-") + "-"
    async with (
        TopicTail(topics.PRACTICE_PROVIDERS) as providers,
        TopicTail(topics.PRACTICE_CLIENTS) as clients,
    ):
        run = await msgctl(
            "seed", "--practices", "2", "--clients", "3", "--providers", "2", "--prefix", prefix
        )
        assert run.code == 0, run.err
        assert "published 10 records" in run.out

        def ours(record: Any) -> bool:
            return bool(record.key.decode().startswith(prefix))

        seeded_providers = await providers.wait_for(ours, count=4)
        seeded_clients = await clients.wait_for(ours, count=6)
    parsed = [ProviderRecordChanged.model_validate(body(r)) for r in seeded_providers]
    assert {p.practice_id for p in parsed} == {f"{prefix}pr-00001", f"{prefix}pr-00002"}
    people = [ClientRecordChanged.model_validate(body(r)) for r in seeded_clients]
    assert all(c.status == "active" and c.email for c in people)
    assert {header(r, "ce_type") for r in seeded_clients} == {"practice.client.changed"}
    # Keys are the ids the topics are compacted by.
    assert {r.key.decode() for r in seeded_clients} == {c.client_id for c in people}


async def test_status_shows_health_topics_consumer_lag_and_backlog() -> None:
    suffix = "." + unique()
    settings = BlockingSettings(
        **base_settings(kafka_group_suffix=suffix, blocking_database=unique("test_blocking_"))
    )
    closed = f"http://127.0.0.1:{free_port()}"
    app = create_app(settings)
    async with serve(app, lifespan="on") as url:
        await wait_until_assigned(app.state.broker)
        # A record to consume, so the group commits an offset.
        await publish_json(topics.PRACTICE_CLIENTS, unique("c-"), client_record(unique("pr-")))
        run = await msgctl(
            "status",
            BLOCKING_URL=url,
            THREADS_URL=closed,
            ANNOUNCEMENTS_URL=closed,
            NOTIFY_URL=closed,
            KAFKA_GROUP_SUFFIX=suffix,
        )
    assert run.code == 0, run.err
    lines = run.out.splitlines()
    blocking = next(line for line in lines if url in line)
    assert "ready" in blocking and "mongodb: ok" in blocking
    assert blocking.split("│")[-2].strip() == "0"  # the outbox backlog
    assert sum("down (ConnectError)" in line for line in lines) == 3
    assert any(topics.MESSAGING_BLOCKS in line and "6" in line for line in lines)
    assert any(f"blocking.clients{suffix}" in line for line in lines)


async def test_dlq_list_show_and_replay_once_without_printing_the_record() -> None:
    event_id, secret_text, key = unique("ev-"), unique("PHI-"), unique("c-")
    poison = json.dumps({"practice_id": "pr", "note": secret_text}).encode()
    dlq = topics.dlq(topics.PRACTICE_CLIENTS)
    settings = BlockingSettings(**base_settings(blocking_database=unique("test_blocking_")))
    async with TopicTail(dlq) as parked, running(create_app(settings)):
        async with producer() as p:
            await p.send_and_wait(
                topics.PRACTICE_CLIENTS,
                poison,
                key=key.encode(),
                headers=[("ce_id", event_id.encode()), ("ce_type", b"practice.client.changed")],
            )
        # Other stacks on a shared broker (the dev services of `make up`) consume the topic
        # too and park their own copies: any one copy serves.
        record, *_ = await parked.wait_for(lambda r: header(r, "ce_id") == event_id)
    offset, ledger = str(record.offset), {"OPS_DATABASE": unique("test_ops_")}

    listed = await msgctl("dlq", "list", **ledger)
    assert listed.code == 0, listed.err
    assert any(line.split("│")[1].strip() == dlq for line in listed.out.splitlines() if "│" in line)

    shown = await msgctl(
        "dlq", "show", topics.PRACTICE_CLIENTS, "--offset", offset, "--json", **ledger
    )
    assert shown.code == 0, shown.err
    [letter] = [json.loads(line) for line in shown.out.splitlines()]
    assert letter["headers"]["ce_id"] == event_id
    assert letter["headers"]["dlq_error"] == "validation_failed"
    assert letter["headers"]["dlq_topic"] == topics.PRACTICE_CLIENTS
    assert letter["replayed"] is False
    table = await msgctl("dlq", "show", dlq, "--offset", offset, **ledger)
    for printed in (shown.out, table.out, listed.out):
        assert secret_text not in printed and key not in printed

    async with TopicTail(topics.PRACTICE_CLIENTS) as source:
        first = await msgctl("dlq", "replay", topics.PRACTICE_CLIENTS, "--offset", offset, **ledger)
        assert first.code == 0, first.err
        assert first.out.startswith("replayed 1, skipped 0")
        again = await msgctl("dlq", "replay", dlq, "--offset", offset, **ledger)
        assert again.out.startswith("replayed 0, skipped 1")
        await source.wait_for(lambda r: header(r, "ce_id") == event_id)
        replayed = [r for r in await source.settle(1.0) if header(r, "ce_id") == event_id]
    assert len(replayed) == 1
    assert replayed[0].value == poison and replayed[0].key == key.encode()
    assert header(replayed[0], "dlq_replayed_from") == f"{dlq}:{record.partition}:{offset}"
    assert header(replayed[0], "dlq_error") is None
    shown_again = await msgctl("dlq", "show", dlq, "--offset", offset, "--json", **ledger)
    assert json.loads(shown_again.out)["replayed"] is True


async def test_audit_verify_runs_the_audit_module() -> None:
    run = await msgctl(
        "audit", "verify", "--practice", unique("pr-"), THREADS_DATABASE=unique("t_")
    )
    assert run.code == 0, run.err
