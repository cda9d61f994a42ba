"""Fault 7: poison on every consumed topic, each followed by a good record on its partition.

Invalid JSON, a wrong schema, an oversized record and a well-formed record of a practice
nobody knows are written to partition 0 of every topic a service consumes. What cannot be
processed lands in `<topic>.dlq` with its reason (`dlq_error`), once per consuming group,
and every group moves on: its committed offset passes the good record after the poison.
"""

import contextlib
import json
import time
import uuid
from collections import Counter, defaultdict
from datetime import UTC, datetime
from typing import Any

import pytest

from shared import topics
from shared.events.announcements import AnnouncementPublished
from shared.events.base import Event
from shared.events.blocks import BlockChanged
from shared.events.clients import ClientRecordChanged
from shared.events.notify import DeliveryRecorded, NotificationRequested
from shared.events.providers import ProviderRecordChanged
from shared.events.threads import InboxEntryChanged, MessageSent, ThreadStateChanged
from tests.faults.kafka import Tail, committed, header, producer
from tests.faults.stack import Stack, figures, wait_for
from tests.support import unique

# The groups each consumed topic has (`consumer_options` names; the run's suffix follows).
# Per-process groups (notify's live ones) are found on the broker.
GROUPS = {
    topics.PRACTICE_CLIENTS: [
        "threads.client_directory",
        "blocking.clients",
        "announcements.clients",
        "notify.clients",
    ],
    topics.PRACTICE_PROVIDERS: ["threads.providers"],
    topics.MESSAGING_BLOCKS: ["threads.blocks", "blocking.lists"],
    topics.MESSAGING_INBOX: ["threads.inbox"],
    topics.MESSAGING_DELIVERIES: ["announcements.deliveries"],
    topics.MESSAGING_ANNOUNCEMENTS: ["notify.fanout.announcements", "announcements.timelines"],
    topics.MESSAGING_MESSAGES: ["notify.fanout.messages"],
    topics.MESSAGING_NOTIFICATIONS: ["notify.deliveries"],
    topics.MESSAGING_THREADS: ["notify.read_state"],
}
OVERSIZED = 900_000  # bytes: under the broker's 1 MB limit, far over any event's size


def well_formed(topic: str, practice_id: str) -> Event:
    """A valid event of the topic about made-up people of the given practice."""
    now = datetime.now(UTC)
    who, other, thread = unique("x-"), unique("y-"), str(uuid.uuid4())
    events: dict[str, Event] = {
        topics.PRACTICE_CLIENTS: ClientRecordChanged(
            practice_id=practice_id, client_id=who, first_name="A", last_name="B"
        ),
        topics.PRACTICE_PROVIDERS: ProviderRecordChanged(practice_id=practice_id, provider_id=who),
        topics.MESSAGING_BLOCKS: BlockChanged(
            practice_id=practice_id, provider_id=who, client_id=other, blocked=True
        ),
        topics.MESSAGING_INBOX: InboxEntryChanged(
            participant_id=who,
            participant_role="provider",
            practice_id=practice_id,
            thread_id=thread,
            other_id=other,
            created_at=now,
            activity_at=now,
            revision=unique(),
        ),
        topics.MESSAGING_DELIVERIES: DeliveryRecorded(
            source="announcement",
            source_id=str(uuid.uuid4()),
            practice_id=practice_id,
            recipient_id=who,
            channel="inbox",
            status="delivered",
        ),
        topics.MESSAGING_ANNOUNCEMENTS: AnnouncementPublished(
            announcement_id=str(uuid.uuid4()),
            practice_id=practice_id,
            author_id=who,
            part=1,
            parts=1,
            recipient_count=1,
            recipient_ids=[other],
        ),
        topics.MESSAGING_MESSAGES: MessageSent(
            thread_id=thread,
            practice_id=practice_id,
            provider_id=who,
            client_id=other,
            message_id=str(uuid.uuid4()),
            seq=1,
            sender_role="client",
            sender_id=other,
            recipient_role="provider",
            recipient_id=who,
            sent_at=now,
        ),
        topics.MESSAGING_NOTIFICATIONS: NotificationRequested(
            source="direct_message",
            source_id=str(uuid.uuid4()),
            practice_id=practice_id,
            recipient_id=who,
            recipient_role="provider",
            thread_id=thread,
            seq=1,
        ),
        topics.MESSAGING_THREADS: ThreadStateChanged(
            thread_id=thread,
            practice_id=practice_id,
            participant_id=who,
            participant_role="provider",
            unread=True,
            unread_count=1,
            archived=False,
            read_seq=0,
            unread_threads=1,
        ),
    }
    return events[topic]


def poisons(topic: str) -> dict[str, bytes]:
    """The four kinds of poison for one topic."""
    valid = well_formed(topic, unique("pr-")).model_dump(mode="json")
    oversized = dict(valid)
    name_field = {
        topics.PRACTICE_CLIENTS: "last_name",
        topics.PRACTICE_PROVIDERS: "provider_id",
    }.get(topic, "practice_id")
    oversized[name_field] = "x" * OVERSIZED
    return {
        "invalid_json": b'{"event_id": "not json',
        "wrong_schema": json.dumps({"event_id": str(uuid.uuid4()), "surprise": [1, 2]}).encode(),
        "oversized": json.dumps(oversized).encode(),
        "unknown_practice": json.dumps(valid).encode(),
    }


@pytest.mark.timeout(420)
async def test_poison_on_every_topic_is_parked_and_the_partition_moves_on(stack: Stack) -> None:
    suffix = f".{stack.run_id}"
    poison_at: dict[tuple[str, str], int] = {}
    good_at: dict[str, int] = {}
    async with Tail(stack.kafka, *(topics.dlq(t) for t in GROUPS)) as dlq:
        async with producer(stack.kafka) as p:
            for topic in GROUPS:
                for kind, payload in poisons(topic).items():
                    sent = await p.send_and_wait(topic, payload, key=b"poison", partition=0)
                    poison_at[(topic, kind)] = sent.offset
                good = well_formed(topic, unique("pr-")).model_dump_json().encode()
                sent = await p.send_and_wait(topic, good, key=b"good", partition=0)
                good_at[topic] = sent.offset
        started = time.monotonic()

        async def groups_of(topic: str, offsets: dict[str, dict[Any, int]]) -> set[str]:
            found = {g + suffix for g in GROUPS[topic]}
            found |= {
                g
                for g, parts in offsets.items()
                if g.startswith("notify.live.") and any(tp.topic == topic for tp in parts)
            }
            return found

        async def stalled() -> dict[str, list[str]]:
            offsets = await committed(stack.kafka, suffix)
            behind: dict[str, list[str]] = {}
            for topic in GROUPS:
                for group in await groups_of(topic, offsets):
                    at = next(
                        (
                            o
                            for tp, o in offsets.get(group, {}).items()
                            if tp.topic == topic and tp.partition == 0
                        ),
                        -1,
                    )
                    if at <= good_at[topic]:
                        behind.setdefault(topic, []).append(group)
            return behind

        async def none_stalled() -> bool:
            return not await stalled()

        with contextlib.suppress(AssertionError):  # what is left behind is reported below
            await wait_for(
                none_stalled, timeout=240, interval=1, what="every group past the poison"
            )
        left_behind = await stalled()
        moved_on_s = time.monotonic() - started
        offsets = await committed(stack.kafka, suffix)
        group_count = {t: len(await groups_of(t, offsets)) for t in GROUPS}

        def parked(records: list[Any]) -> dict[tuple[str, str], list[str]]:
            by_offset = {(t, o): k for (t, k), o in poison_at.items()}
            found: dict[tuple[str, str], list[str]] = defaultdict(list)
            for r in records:
                where = (
                    header(r, "dlq_topic"),
                    header(r, "dlq_partition"),
                    header(r, "dlq_offset"),
                )
                if where[1] == "0" and where[0] in GROUPS:
                    kind = by_offset.get((where[0], int(where[2] or -1)))
                    if kind:
                        found[(where[0], kind)].append(header(r, "dlq_error") or "")
            return found

        def undeliverable_parked(records: list[Any]) -> bool:
            found = parked(records)
            return all(
                len(found[(t, k)]) >= group_count[t]
                for t in GROUPS
                for k in ("invalid_json", "wrong_schema", "oversized")
            )

        with contextlib.suppress(AssertionError):  # what is missing is reported below
            await dlq.until(undeliverable_parked, timeout=60, what="dead letters")
        found = parked(await dlq.drain())

    summary = {
        kind: dict(Counter(r for t in GROUPS for r in found.get((t, kind), [])))
        for kind in ("invalid_json", "wrong_schema", "oversized", "unknown_practice")
    }
    missing = {
        f"{t} {k}": f"{len(found.get((t, k), []))}/{group_count[t]}"
        for t in GROUPS
        for k in ("invalid_json", "wrong_schema", "oversized")
        if len(found.get((t, k), [])) != group_count[t]
    }
    figures(
        7,
        "poison on every consumed topic",
        topics=len(GROUPS),
        consuming_groups=sum(group_count.values()),
        poison_records=len(poison_at),
        dead_letters_by_reason=summary,
        unknown_practice_parked_on=sorted(t for t in GROUPS if found.get((t, "unknown_practice"))),
        groups_stalled=left_behind,
        dead_letters_missing=missing,
        moved_on_s=moved_on_s,
    )
    assert not left_behind
    assert not missing
    assert all(r for reasons in found.values() for r in reasons), "every dead letter has a reason"
