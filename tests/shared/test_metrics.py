"""Each service serves Prometheus metrics at /metrics, with labels that never name a person."""

import importlib
import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from fastapi import FastAPI
from prometheus_client import REGISTRY

from shared import topics
from tests.support import (
    auth,
    base_settings,
    client_record,
    eventually,
    publish_json,
    running,
    unique,
)

SERVICES = ("threads", "blocking", "announcements", "notify")
# A request each service answers, with an id in its path.
PROBE = {
    "threads": ("/v1/threads/{id}", "/v1/threads/{thread_id}"),
    "blocking": ("/v1/blocks/{id}", "/v1/blocks/{client_id}"),
    "announcements": ("/v1/announcements/{id}", "/v1/announcements/{announcement_id}"),
    "notify": ("/v1/me/devices/{id}", "/v1/me/devices/{device_id}"),
}
FAMILIES = (
    "messaging_http_request_duration_seconds",
    "messaging_consumer_lag",
    "messaging_dead_lettered_total",
    "messaging_events_received_processed_messages_total",
    "messaging_events_published_messages_total",
    "messaging_outbox_backlog",
    "messaging_deliveries_total",
    "messaging_fanout_jobs_total",
    "messaging_db_command_duration_seconds",
    "messaging_gc_pause_seconds",
)

# Label names allowed on our families: templates, topics, statuses, channels, never people.
LABEL_NAMES = {
    "method", "route", "status", "group", "topic", "partition", "reason", "channel",
    "outcome", "source", "command", "collection", "app_name", "broker", "handler", "destination", "exception_type", "le",
    "generation",
}  # fmt: skip


def create(service: str) -> FastAPI:
    """The service's app with a database and consumer groups of its own."""
    module = importlib.import_module(f"services.{service}.app")
    settings_module = importlib.import_module(f"services.{service}.settings")
    settings_class = next(
        v
        for k, v in vars(settings_module).items()
        if k.endswith("Settings") and k.lower().startswith(service)
    )
    overrides: dict[str, Any] = {f"{service}_database": unique(f"test_{service}_")}
    if service == "notify":
        overrides["notify_delivery_consumers"] = 1
    app: FastAPI = module.create_app(settings_class(**base_settings(**overrides)))
    return app


def samples(text: str, family: str) -> list[str]:
    return [line for line in text.splitlines() if line.startswith(family)]


@pytest.mark.parametrize("service", SERVICES)
async def test_metrics_answer_text_with_the_named_families_after_traffic(service: str) -> None:
    practice, user, thing = unique("pr-"), unique("u-"), unique("id-")
    path, template = PROBE[service]
    async with running(create(service)) as http:
        await http.get(path.format(id=thing), headers=auth(user, "provider", practice))
        await http.get("/v1/nowhere/" + thing)
        # A client record to consume, and a malformed one to dead-letter.
        record = client_record(practice)
        await publish_json(topics.PRACTICE_CLIENTS, str(record["client_id"]), record)
        await publish_json(topics.PRACTICE_CLIENTS, unique("c-"), {"practice_id": practice})

        wanted = {
            "messaging_events_received_processed_messages_total": (
                f'handler="{topics.PRACTICE_CLIENTS}",status="acked"'
            ),
            "messaging_dead_lettered_total": (
                f'reason="validation_failed",topic="{topics.PRACTICE_CLIENTS}"'
            ),
            "messaging_consumer_lag": f'topic="{topics.PRACTICE_CLIENTS}"',
        }
        text = ""

        async def missing() -> list[str]:
            nonlocal text
            r = await http.get("/metrics")
            assert r.status_code == 200
            assert r.headers["content-type"].startswith("text/plain")
            text = r.text
            return [
                family
                for family, part in wanted.items()
                if not any(part in line for line in samples(text, family))
            ]

        async def complete() -> bool:
            return not await missing()

        await eventually(complete, timeout=60)

    for family in FAMILIES:
        assert f"# TYPE {family} " in text, family
    latency = samples(text, "messaging_http_request_duration_seconds_count")
    assert any(f'route="{template}"' in line and 'status="40' in line for line in latency)
    assert any('route="unmatched",status="404"' in line for line in latency)
    # The consumed client record was stored: its command shows, by name and collection.
    commands = samples(text, "messaging_db_command_duration_seconds_count")
    writes = ('command="update"', 'command="insert"', 'command="findAndModify"')
    assert any(write in line for line in commands for write in writes), commands
    # No label carries an id of a person, a practice or anything from a path.
    for value in (practice, user, thing, str(record["client_id"]), str(record["last_name"])):
        assert value not in text
    names = {
        name
        for line in text.splitlines()
        if line.startswith("messaging_")
        for name in re.findall(r'[{,]([a-z_]+)="', line)
    }
    assert names <= LABEL_NAMES, names - LABEL_NAMES


async def test_metrics_need_no_token() -> None:
    async with running(create("blocking")) as http:
        r = await http.get("/metrics")
    assert r.status_code == 200 and "messaging_outbox_backlog 0.0" in r.text


def test_dashboard_and_scrape_config_use_only_exported_families() -> None:
    root = Path(__file__).resolve().parents[2] / "deploy"
    dashboard = json.loads((root / "grafana" / "dashboards" / "messaging.json").read_text())
    exprs = [t["expr"] for panel in dashboard["panels"] for t in panel["targets"]]
    used = {name for expr in exprs for name in re.findall(r"\bmessaging_[a-z_]+", expr)}
    create("blocking")  # registers FastStream's families too
    exported = {
        sample
        for family in REGISTRY.collect()
        for sample in (family.name, *(f"{family.name}_{s}" for s in ("total", "count", "bucket")))
    }
    assert used and used <= exported, used - exported
    scrape = yaml.safe_load((root / "prometheus" / "prometheus.yml").read_text())
    targets = {
        t for c in scrape["scrape_configs"] for s in c["static_configs"] for t in s["targets"]
    }
    assert targets == {"threads:8001", "blocking:8002", "announcements:8003", "notify:8004"}
