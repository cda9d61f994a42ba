"""Fan-out: a direct message becomes a job for its recipient (announcements go by part)."""

from dataclasses import dataclass

from services.notify.domain import Job
from services.notify.events import job_event
from services.notify.ports import PublisherPort
from shared.metrics import FANOUT_JOBS


@dataclass(frozen=True)
class FanOut:
    """Turns sources into jobs on the jobs topic, where the delivery workers take them."""

    publisher: PublisherPort

    async def request(self, job: Job) -> None:
        """Publish the job (its event id is stable, so a replayed source yields the same job)."""
        await self.publisher.publish(job_event(job))
        FANOUT_JOBS.labels(job.source).inc()
