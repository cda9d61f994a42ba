"""Event derivation (events.py): stable ids, and only ids and counts in what leaves notify."""

from datetime import UTC, datetime

from services.notify import events
from services.notify.domain import Job, new_delivery
from shared.events.clients import ClientRecordChanged
from shared.events.threads import MessageSent

NOW = datetime(2030, 1, 1, tzinfo=UTC)
JOB = Job("direct_message", "m-1", "pr-1", "c-1", "client", "t-1", 3)


def message() -> MessageSent:
    return MessageSent(
        thread_id="t-1",
        practice_id="pr-1",
        provider_id="p-1",
        client_id="c-1",
        message_id="m-1",
        seq=3,
        sender_role="provider",
        sender_id="p-1",
        recipient_role="client",
        recipient_id="c-1",
        sent_at=NOW,
    )


def test_a_replayed_message_yields_the_same_job_event() -> None:
    first, again = (events.job_event(events.message_job(message())) for _ in range(2))

    assert first.event_id == again.event_id
    assert events.job_of(first) == Job(
        "direct_message", "m-1", "pr-1", "c-1", "client", "t-1", 3, str(first.event_id)
    )


def test_an_outcome_event_id_is_stable_per_outcome() -> None:
    pending = new_delivery(JOB, "push", NOW)
    sent, again = (pending.closed("sent", None, NOW) for _ in range(2))
    failed = pending.closed("failed", "down", NOW)

    assert events.recorded_event(sent).event_id == events.recorded_event(again).event_id
    assert events.recorded_event(sent).event_id != events.recorded_event(failed).event_id


def test_a_parked_job_keeps_its_jobs_event_id() -> None:
    requested = events.job_event(JOB)
    job = events.job_of(requested)

    parked = events.parked_job(new_delivery(job, "email", NOW))

    assert parked.event_id == requested.event_id


def test_a_live_message_event_carries_ids_only() -> None:
    live = events.message_arrived(message())

    assert live.user_id == "c-1"
    assert live.data == {"thread_id": "t-1", "seq": 3, "message_id": "m-1"}


def test_an_inactive_client_record_is_kept_inactive_without_names() -> None:
    record = ClientRecordChanged(
        practice_id="pr-1",
        client_id="c-1",
        first_name="Ann",
        last_name="Lee",
        email="c1@x.org",
        status="inactive",
    )

    contact = events.client_contact(record)

    assert (contact.email, contact.active) == ("c1@x.org", False)
    assert "Ann" not in repr(contact)
