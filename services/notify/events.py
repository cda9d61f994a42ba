"""Event derivation: notify's domain objects to and from the shared event contracts.

Every event notify publishes is derived here (jobs, delivery outcomes, parked jobs), and
every consumed event becomes a domain object here (a job, a part, a live event, a
projection's fact), so stores and use cases never build or read event payloads.
"""

from typing import Any

from services.notify.domain import (
    ClientContact,
    Delivery,
    Job,
    LiveEvent,
    Part,
    ReadState,
)
from shared.events.announcements import AnnouncementPublished
from shared.events.clients import ClientRecordChanged
from shared.events.notify import DeliveryRecorded, NotificationRequested
from shared.events.threads import MessageSent, ThreadStateChanged
from shared.ids import stable_uuid


def job_event(job: Job) -> NotificationRequested:
    """The job event; its id is stable so a replayed source yields the same job."""
    return NotificationRequested(
        event_id=stable_uuid(job.source_id, job.recipient_id, "job"), **_requested(job)
    )


def parked_job(delivery: Delivery) -> NotificationRequested:
    """A failed delivery's job as parked on the dead-letter topic (under its own event id)."""
    job = delivery.job
    parked_id = {"event_id": job.job_event_id} if job.job_event_id else {}
    return NotificationRequested(**_requested(job), **parked_id)


def _requested(job: Job) -> dict[str, Any]:
    """The fields a NotificationRequested carries of its job."""
    return {
        "source": job.source,
        "source_id": job.source_id,
        "practice_id": job.practice_id,
        "recipient_id": job.recipient_id,
        "recipient_role": job.recipient_role,
        "thread_id": job.thread_id,
        "seq": job.seq,
    }


def recorded_event(delivery: Delivery) -> DeliveryRecorded:
    """The DeliveryRecorded event of a settled record; its id is stable per outcome."""
    return DeliveryRecorded(
        event_id=stable_uuid(delivery.id, delivery.status, "recorded"),
        source=delivery.job.source,
        source_id=delivery.job.source_id,
        practice_id=delivery.job.practice_id,
        recipient_id=delivery.job.recipient_id,
        channel=delivery.channel,
        status=delivery.status,  # type: ignore[arg-type]  # only settled records are announced
        reason=delivery.reason,
    )


def job_of(event: NotificationRequested) -> Job:
    """The job a NotificationRequested event carries."""
    return Job(
        source=event.source,
        source_id=event.source_id,
        practice_id=event.practice_id,
        recipient_id=event.recipient_id,
        recipient_role=event.recipient_role,
        thread_id=event.thread_id,
        seq=event.seq,
        job_event_id=str(event.event_id),
    )


def message_job(event: MessageSent) -> Job:
    """The one job of a direct message: tell its recipient."""
    return Job(
        source="direct_message",
        source_id=event.message_id,
        practice_id=event.practice_id,
        recipient_id=event.recipient_id,
        recipient_role=event.recipient_role,
        thread_id=event.thread_id,
        seq=event.seq,
    )


def part_of(event: AnnouncementPublished) -> Part:
    """The part of an announcement an event carries."""
    return Part(
        announcement_id=event.announcement_id,
        practice_id=event.practice_id,
        part=event.part,
        recipients=tuple(event.recipient_ids),
    )


def message_arrived(event: MessageSent) -> LiveEvent:
    """The recipient's live event for a new message: ids only (no body, no names)."""
    return LiveEvent(
        id=f"{event.event_id}:message",
        user_id=event.recipient_id,
        kind="message",
        data={"thread_id": event.thread_id, "seq": event.seq, "message_id": event.message_id},
        occurred_at=event.occurred_at,
    )


def unread_changed(event: ThreadStateChanged) -> LiveEvent:
    """The participant's live event for a moved red dot."""
    return LiveEvent(
        id=f"{event.event_id}:unread",
        user_id=event.participant_id,
        kind="unread",
        data={"unread_threads": event.unread_threads},
        occurred_at=event.occurred_at,
    )


def client_contact(record: ClientRecordChanged) -> ClientContact:
    """What notify keeps of a client record: address and status, never names."""
    return ClientContact(
        client_id=record.client_id,
        practice_id=record.practice_id,
        email=record.email,
        active=record.status == "active",
    )


def read_state(event: ThreadStateChanged) -> ReadState:
    """A participant's read position and red dot after a thread's change."""
    return ReadState(
        thread_id=event.thread_id,
        participant_id=event.participant_id,
        read_seq=event.read_seq,
        unread=event.unread,
        unread_threads=event.unread_threads,
        as_of=event.occurred_at,
    )
