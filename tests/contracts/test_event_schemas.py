"""Snapshots of every event's JSON schema, so contract changes show up in review.

After an intended, compatible change (new optional field), refresh with
`UPDATE_CONTRACTS=1 make test` and commit the changed snapshot.
"""

import json
import os
from pathlib import Path

import pytest

from shared.events import announcements, audit, blocks, clients, notify, providers, threads
from shared.events.base import Event

SNAPSHOTS = Path(__file__).parent / "schemas"

EVENTS: list[type[Event]] = [
    clients.ClientRecordChanged,
    providers.ProviderRecordChanged,
    threads.PracticeMessagingToggled,
    threads.DisplayNameChanged,
    threads.ThreadCreated,
    threads.ThreadStateChanged,
    threads.InboxEntryChanged,
    threads.MessageSent,
    threads.ChartEntry,
    blocks.BlockChanged,
    audit.AccessRecorded,
    announcements.AnnouncementPublished,
    notify.NotificationRequested,
    notify.DeliveryRecorded,
]


def snapshot_of(event: type[Event]) -> dict[str, object]:
    return {
        "topic": event.TOPIC,
        "type": event.TYPE,
        "key": event.KEY_FIELD,
        "schema": event.model_json_schema(),
    }


@pytest.mark.parametrize("event", EVENTS, ids=lambda e: e.__name__)
def test_event_schema_matches_its_snapshot(event: type[Event]) -> None:
    path = SNAPSHOTS / f"{event.TOPIC}.{event.__name__}.json"
    current = snapshot_of(event)
    if os.environ.get("UPDATE_CONTRACTS") == "1":
        path.parent.mkdir(exist_ok=True)
        path.write_text(json.dumps(current, indent=2, sort_keys=True) + "\n")
    # A missing snapshot fails too: a new contract must be reviewed, not slipped in.
    assert path.exists(), f"no snapshot for {event.__name__}: run UPDATE_CONTRACTS=1 make test"
    assert json.loads(path.read_text()) == current


def test_every_event_type_has_a_snapshot_under_test() -> None:
    """Every event the services publish is in EVENTS, so none escapes its snapshot."""
    declared = {
        c
        for c in _all_subclasses(Event)
        if getattr(c, "TOPIC", None) and c.__module__.startswith("shared.events.")
    }
    assert declared <= set(EVENTS), sorted(c.__name__ for c in declared - set(EVENTS))


def _all_subclasses(cls: type) -> set[type]:
    found: set[type] = set()
    for sub in cls.__subclasses__():
        found |= {sub} | _all_subclasses(sub)
    return found


def test_chart_is_the_only_topic_whose_events_carry_a_body() -> None:
    with_body = [e.__name__ for e in EVENTS if "body" in e.model_fields]

    assert with_body == ["ChartEntry"]


def test_every_event_has_an_id_a_time_and_a_schema_version() -> None:
    for event in EVENTS:
        assert {"event_id", "occurred_at", "schema_version"} <= event.model_fields.keys()
