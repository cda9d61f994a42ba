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

    async def request(self, *jobs: Job) -> None:
        """Publish the jobs together (each one's event id is stable, so a replayed source
        yields the same job)."""
        await self.publisher.publish_all([job_event(job) for job in jobs])
        for job in jobs:
            FANOUT_JOBS.labels(job.source).inc()
