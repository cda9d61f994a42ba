"""Checks several fault tests share: what the API returns, what reached the topics."""

import time
from collections import defaultdict
from typing import Any

from shared import topics
from tests.faults.kafka import Tail, value
from tests.faults.people import Conversation, read_thread
from tests.faults.stack import Stack


async def stored_messages(
    stack: Stack, convs: list[Conversation]
) -> tuple[dict[str, dict[str, Any]], int]:
    """Every message of the threads by client_message_id (read through the API), and how
    many threads have seqs 1..n without a gap. A client_message_id seen twice fails."""
    found: dict[str, dict[str, Any]] = {}
    gapless = 0
    async with stack.http("threads") as api:
        for conv in convs:
            items = await read_thread(api, conv.thread_id, conv.client_headers())
            gapless += sorted(m["seq"] for m in items) == list(range(1, len(items) + 1))
            for m in items:
                assert m["client_message_id"] not in found, "a message stored twice"
                found[m["client_message_id"]] = m
    return found, gapless


def event_ids_by_message(records: list[Any], ids: set[str]) -> dict[str, set[str]]:
    """The event ids each of these messages was published under."""
    per: dict[str, set[str]] = defaultdict(set)
    for r in records:
        v = value(r)
        if v and v.get("message_id") in ids:
            per[v["message_id"]].add(v["event_id"])
    return per


def out_of_order(records: list[Any], ids: set[str]) -> int:
    """Messages whose first publication came after a later seq of their thread."""
    last: dict[str, int] = {}
    seen: set[str] = set()
    wrong = 0
    for r in sorted(records, key=lambda r: (r.partition, r.offset)):
        v = value(r)
        if not v or v.get("message_id") not in ids or v["message_id"] in seen:
            continue
        seen.add(v["message_id"])
        if v["seq"] < last.get(v["thread_id"], 0):
            wrong += 1
        last[v["thread_id"]] = max(last.get(v["thread_id"], 0), v["seq"])
    return wrong


async def published_everywhere(stack: Stack, ids: set[str], timeout: float) -> tuple[float, Tail]:
    """Wait until every message is on both topics; seconds waited and the records read."""
    tail = Tail(stack.kafka, topics.MESSAGING_MESSAGES, topics.MESSAGING_CHART, from_beginning=True)
    async with tail:

        def complete(records: list[Any]) -> bool:
            per_topic: dict[str, set[str]] = defaultdict(set)
            for r in records:
                v = value(r)
                if v and v.get("message_id") in ids:
                    per_topic[r.topic].add(v["message_id"])
            return all(
                per_topic[t] == ids for t in (topics.MESSAGING_MESSAGES, topics.MESSAGING_CHART)
            )

        waited = await tail.until(complete, timeout=timeout, what="messages on both topics")
    return waited, tail


def wall_time(monotonic: float) -> float:
    """A monotonic moment as wall-clock time (broker timestamps are wall-clock)."""
    return time.time() - (time.monotonic() - monotonic)


def publish_lags(records: list[Any], acked: dict[str, tuple[str, float]]) -> dict[str, float]:
    """Seconds from each message's 201 to its first record on the messages topic.

    `acked` maps client_message_id to (message_id, monotonic time of the 201).
    """
    first: dict[str, float] = {}
    for r in records:
        v = value(r)
        if v and r.topic == topics.MESSAGING_MESSAGES and "message_id" in v:
            at = r.timestamp / 1000
            first[v["message_id"]] = min(first.get(v["message_id"], at), at)
    return {
        cmid: first[message_id] - wall_time(at)
        for cmid, (message_id, at) in acked.items()
        if message_id in first
    }
