"""Attempting one delivery on its channel, then settling what happened (or scheduling a retry)."""

from collections.abc import Coroutine
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from services.notify.domain import Attempt, Outcome, Profile, Skipped
from services.notify.handlers.email import EmailDelivery
from services.notify.handlers.outcomes import Outcomes
from services.notify.handlers.push import PushDelivery
from services.notify.handlers.scheduler import Scheduler, Work
from services.notify.ports import UsersPort
from shared.clock import utcnow

# A profile read this close before an attempt's due time serves that attempt.
PROFILE_REUSE = timedelta(seconds=1)


@dataclass(frozen=True)
class Attempts:
    """Runs deliveries' attempts, each at most once per due time, within its lease."""

    users: UsersPort
    push: PushDelivery
    email: EmailDelivery
    outcomes: Outcomes
    scheduler: Scheduler
    # An attempt starts only if it can finish well within its lease.
    lease_margin: timedelta

    def later(self, run: Attempt, profile: Profile | None = None) -> Work:
        """The attempt as work for the scheduler to start when it is due."""
        # A profile just read serves an attempt due now; a delayed one reads it again when due.
        reuse = profile if run.delivery.due_at <= utcnow() + PROFILE_REUSE else None

        def start() -> Coroutine[Any, Any, bool]:
            return self.attempt(run, profile=reuse)

        return start

    async def attempt(
        self, run: Attempt, *, profile: Profile | None = None, address: str | None = None
    ) -> bool:
        """Try one delivery once and settle what happened; False if it was not the time to try."""
        started = utcnow()
        if not run.may_start(started, self.lease_margin):
            # Too late to finish within the lease: the entry is looked at again once its
            # lease is over, and claimed anew (by this instance or another) before it runs.
            if run.queued:
                self.scheduler.park(run.delivery.id, run.delivery.due_at, wake_at=run.lease_until)
            return False
        delivery = run.delivery
        profile = profile or await self.users.profile(delivery.job.recipient_id)
        outcome: Outcome
        if delivery.channel == "push":
            outcome = await self.push.outcome(delivery, profile)
        elif delivery.channel == "email":
            outcome = await self.email.outcome(delivery, profile, address)
        else:
            outcome = Skipped("unsupported_channel")
        await self.settle(run, outcome, started=started)
        return True

    async def settle(self, run: Attempt, outcome: Outcome, *, started: datetime) -> None:
        """Record the outcome; a transient failure is tried again on a timer."""
        again = await self.outcomes.settle(run, outcome, started=started)
        if again is not None:
            due = again.delivery.due_at
            self.scheduler.at(again.delivery.id, due, self.later(again))
