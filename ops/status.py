"""What an operator looks at first: each service's readiness, the topics, lag and backlog."""

import asyncio
import re
from dataclasses import dataclass, field
from typing import Any

import httpx

from ops.kafka import admin, consumer, offsets, partitions
from ops.settings import OpsSettings
from shared.topics import ALL_TOPICS

# The services' own consumer groups (per-instance groups such as notify.live.* excluded).
DEFAULT_GROUPS = r"(threads|blocking|announcements|notify)\.[a-z_]+"
NO_COMMITS = "(nothing committed yet)"


@dataclass(frozen=True)
class ServiceHealth:
    """One service's answer to /health/ready (or why there was none)."""

    name: str
    url: str
    status: str
    checks: dict[str, Any] = field(default_factory=dict)
    reports: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class TopicState:
    """A topic's partitions and how many records it holds now."""

    name: str
    partitions: int
    records: int


@dataclass(frozen=True)
class GroupLag:
    """A consumer group's committed position against a topic's end."""

    group: str
    topic: str
    partitions: int
    lag: int


async def health(settings: OpsSettings) -> list[ServiceHealth]:
    """Every service's readiness, with its checks and reports (outbox backlog, broker)."""
    async with httpx.AsyncClient(timeout=3) as http:
        return list(
            await asyncio.gather(*(_health(http, n, u) for n, u in settings.service_urls().items()))
        )


async def _health(http: httpx.AsyncClient, name: str, url: str) -> ServiceHealth:
    try:
        r = await http.get(f"{url}/health/ready")
        body = r.json()
    except (httpx.HTTPError, ValueError) as error:
        return ServiceHealth(name, url, f"down ({type(error).__name__})")
    return ServiceHealth(
        name, url, str(body.get("status")), body.get("checks", {}), body.get("reports", {})
    )


async def topics(settings: OpsSettings) -> list[TopicState]:
    """The system's topics (DLQs included): partitions and records held."""
    states = []
    async with consumer(settings) as reader:
        for spec in ALL_TOPICS:
            tps = await partitions(reader, spec.name)
            first, end = await offsets(reader, tps)
            states.append(TopicState(spec.name, len(tps), sum(end[tp] - first[tp] for tp in tps)))
    return states


async def lag(settings: OpsSettings, pattern: str | None = None) -> list[GroupLag]:
    """Lag per group and topic for the groups whose id matches (default: the services')."""
    suffix = re.escape(settings.kafka_group_suffix)
    wanted = re.compile(pattern or f"{DEFAULT_GROUPS}{suffix}")
    async with admin(settings) as client:
        groups = sorted(g[0] for g in await client.list_consumer_groups() if wanted.fullmatch(g[0]))
        committed = {g: await client.list_consumer_group_offsets(g) for g in groups}
    tps = sorted({tp for offsets_ in committed.values() for tp in offsets_}, key=str)
    async with consumer(settings) as reader:
        end = await reader.end_offsets(tps) if tps else {}
    rows = []
    for group in groups:
        per_topic: dict[str, list[int]] = {}
        for tp, meta in committed[group].items():
            position = meta.offset if meta.offset >= 0 else 0
            per_topic.setdefault(tp.topic, []).append(max(end[tp] - position, 0))
        rows += [GroupLag(group, t, len(v), sum(v)) for t, v in sorted(per_topic.items())]
        if not per_topic:
            rows.append(GroupLag(group, NO_COMMITS, 0, 0))
    return rows
