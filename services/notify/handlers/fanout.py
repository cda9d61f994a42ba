"""Fan-out: a direct message becomes a job for its recipient; an announcement part, a Part."""

from services.notify.domain import Job, Part
from services.notify.handlers.delivery import Publisher
from shared.events.announcements import AnnouncementPublished
from shared.events.notify import NotificationRequested
from shared.events.threads import MessageSent
from shared.ids import stable_uuid
from shared.metrics import FANOUT_JOBS


def job_event(job: Job) -> NotificationRequested:
    """The job event; its id is stable so a replayed source yields the same job."""
    return NotificationRequested(
        event_id=stable_uuid(job.source_id, job.recipient_id, "job"),
        source=job.source,
        source_id=job.source_id,
        practice_id=job.practice_id,
        recipient_id=job.recipient_id,
        recipient_role=job.recipient_role,
        thread_id=job.thread_id,
        seq=job.seq,
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


def part_of(event: AnnouncementPublished) -> Part:
    """The part of an announcement an event carries."""
    return Part(
        announcement_id=event.announcement_id,
        practice_id=event.practice_id,
        part=event.part,
        recipients=tuple(event.recipient_ids),
    )


async def fan_out_message(event: MessageSent, *, publisher: Publisher) -> None:
    """One job for the recipient of a direct message."""
    await publisher.publish(
        job_event(
            Job(
                source="direct_message",
                source_id=event.message_id,
                practice_id=event.practice_id,
                recipient_id=event.recipient_id,
                recipient_role=event.recipient_role,
                thread_id=event.thread_id,
                seq=event.seq,
            )
        )
    )
    FANOUT_JOBS.labels("direct_message").inc()
