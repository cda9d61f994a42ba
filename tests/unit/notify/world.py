"""The notify use cases bound to in-memory fakes, as the composition root binds the real ones."""

import asyncio
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import TypeVar

from services.notify.dispatcher import Dispatcher
from services.notify.domain import Channel, Delivery, Job, RetryPolicy, delivery_id
from services.notify.handlers.attempts import Attempts
from services.notify.handlers.email import EmailDelivery
from services.notify.handlers.jobs import Jobs
from services.notify.handlers.outcomes import Outcomes
from services.notify.handlers.parts import Parts
from services.notify.handlers.push import PushDelivery
from services.notify.handlers.recovery import Recovery
from services.notify.handlers.scheduler import Scheduler
from shared.events.notify import DeliveryRecorded
from tests.unit.notify.fakes import (
    FakeClientEmails,
    FakeDeadLetters,
    FakeDeliveries,
    FakeMailer,
    FakePublisher,
    FakePush,
    FakeQueue,
    FakeReadStates,
    FakeUsers,
)

T = TypeVar("T")

LEASE = timedelta(seconds=120)
OWNER = "unit-notify"


@dataclass
class World:
    """Fakes, and the use cases bound to them."""

    email_delay: timedelta = timedelta(0)
    retry_window: float = 5.0
    # Retries come after a few milliseconds, so a test sees several within its wait.
    retry_base: float = 0.005
    push_batch: int = 50
    timer_horizon: timedelta | None = None
    deliveries: FakeDeliveries = field(default_factory=FakeDeliveries)
    queue: FakeQueue = field(default_factory=FakeQueue)
    users: FakeUsers = field(default_factory=FakeUsers)
    clients: FakeClientEmails = field(default_factory=FakeClientEmails)
    reads: FakeReadStates = field(default_factory=FakeReadStates)
    push: FakePush = field(default_factory=FakePush)
    mailer: FakeMailer = field(default_factory=FakeMailer)
    publisher: FakePublisher = field(default_factory=FakePublisher)
    dead_letters: FakeDeadLetters = field(default_factory=FakeDeadLetters)

    def __post_init__(self) -> None:
        self.scheduler = Scheduler(
            owner=OWNER,
            queue=self.queue,
            dispatcher=Dispatcher(8),
            release_horizon=LEASE,
            timer_horizon=self.timer_horizon,
        )
        policy = RetryPolicy(self.retry_base, self.retry_window, rng=random.Random(7))
        self.outcomes = Outcomes(
            deliveries=self.deliveries,
            queue=self.queue,
            publisher=self.publisher,
            dead_letters=self.dead_letters,
            scheduler=self.scheduler,
            policy=policy,
            lease=LEASE,
        )
        email = EmailDelivery(self.clients, self.reads, self.mailer, "https://portal.test")
        push = PushDelivery(self.users, self.reads, self.push)
        self.attempts = Attempts(
            self.users, push, email, self.outcomes, self.scheduler, timedelta(seconds=30)
        )
        self.jobs = Jobs(
            deliveries=self.deliveries,
            queue=self.queue,
            users=self.users,
            email=email,
            outcomes=self.outcomes,
            attempts=self.attempts,
            scheduler=self.scheduler,
            email_delay=self.email_delay,
            lease=LEASE,
        )
        self.parts = Parts(
            deliveries=self.deliveries,
            queue=self.queue,
            users=self.users,
            email=email,
            push=push,
            outcomes=self.outcomes,
            attempts=self.attempts,
            scheduler=self.scheduler,
            lease=LEASE,
            push_batch=self.push_batch,
        )
        self.recovery = Recovery(self.queue, self.jobs, self.parts, self.scheduler, LEASE, 500)
        self.scheduler.revive_with(self.recovery.revive)

    async def record(self, job: Job, channel: Channel) -> Delivery | None:
        """The job's record of one channel."""
        return await self.deliveries.get(delivery_id(job.source_id, job.recipient_id, channel))

    async def settled(self, job: Job, channel: Channel) -> Delivery:
        """The job's record of one channel once it is final (and its queue entry gone)."""

        async def final() -> Delivery | None:
            record = await self.record(job, channel)
            if record is None or not record.is_final or record.id in self.queue.entries:
                return None
            return record

        return await until(final)

    def recorded(self) -> list[tuple[str, str, str | None]]:
        """The DeliveryRecorded events published: (channel, status, reason)."""
        return [
            (e.channel, e.status, e.reason)
            for e in self.publisher.events
            if isinstance(e, DeliveryRecorded)
        ]


async def until(found: Callable[[], Awaitable[T | None]], timeout: float = 2.0) -> T:
    """Wait for a condition (polled every few milliseconds), never a fixed time."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while (value := await found()) is None:
        assert loop.time() < deadline, "condition not met in time"
        await asyncio.sleep(0.005)
    return value
