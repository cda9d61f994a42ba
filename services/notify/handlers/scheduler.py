"""The in-process scheduler: this instance's queued work, run on timers instead of polling.

Work this process queued (a delayed email, a retry, an announcement part) or took over
from a dead instance runs on an asyncio timer at its due time. Work due past the timer
horizon (a direct message's email waits fifteen minutes) is parked instead: a heap of
(wake time, id) pairs under one timer, each looked up again by `_id` when it wakes, so
memory holds two small tuples per wait rather than a timer and its closure. Nothing is
polled: at rest the process sleeps. On a graceful stop, work in flight gets a grace
period to finish; whatever is left, and work due soon, is released in the queue so the
next instance to sweep (another one, or this one restarted) runs it at once instead of
waiting for the lease to run out.
"""

import asyncio
import heapq
import logging
from collections.abc import Callable, Coroutine
from datetime import datetime, timedelta
from typing import Any

from services.notify.dispatcher import Dispatcher
from services.notify.ports import QueuePort
from shared.clock import utcnow

log = logging.getLogger(__name__)

Work = Callable[[], Coroutine[Any, Any, bool]]
Revive = Callable[[str], Coroutine[Any, Any, None]]

# Parked entries looked up at once when they wake, and how long a failed lookup waits.
REVIVE_CONCURRENCY = 8
REVIVE_RETRY = timedelta(seconds=30)
# What `soon_work` counts as due soon.
SOON = timedelta(minutes=1)


class Scheduler:
    """Timers and bookkeeping for the queue entries this process holds."""

    def __init__(
        self,
        *,
        owner: str,
        queue: QueuePort,
        dispatcher: Dispatcher,
        release_horizon: timedelta,
        part_concurrency: int = 2,
        timer_horizon: timedelta | None = None,
    ) -> None:
        self.owner = owner
        self.dispatcher = dispatcher
        self.stopping = False
        self._queue = queue
        self._release_horizon = release_horizon
        # Work due later than this gets no timer of its own: it is parked until it is due
        # within the horizon (timers and closures are kept for the work due soon only).
        self.timer_horizon = timer_horizon
        self._held: dict[str, datetime] = {}  # entry id -> due time
        self._timers: dict[str, asyncio.TimerHandle] = {}
        self._parked: list[tuple[datetime, str]] = []  # a heap of (wake time, entry id)
        self._wakes: dict[str, datetime] = {}  # entry id -> its current wake time
        self._wake: tuple[datetime, asyncio.TimerHandle] | None = None
        self._revive: Revive | None = None
        self._reviving: set[asyncio.Task[None]] = set()
        self._parts = asyncio.Semaphore(part_concurrency)
        self._background: set[asyncio.Task[None]] = set()

    def revive_with(self, revive: Revive) -> None:
        """What a parked entry's wake runs: look the entry up and carry on with it."""
        self._revive = revive

    @property
    def parked(self) -> int:
        """Entries waiting to wake (no timer of their own yet)."""
        return len(self._wakes)

    def holds(self, entry_id: str) -> bool:
        """True while this process runs (or will run) the entry."""
        return entry_id in self._held

    async def due_work(self) -> int:
        """Entries this process holds that are due now (its deliveries still to run)."""
        now = utcnow()
        return sum(1 for due_at in self._held.values() if due_at <= now)

    async def held_work(self) -> int:
        """Entries this process holds: due now, on timers, or parked (its work still to do)."""
        return len(self._held)

    async def soon_work(self) -> int:
        """Entries this process holds that are due within a minute (a burst's emails in a
        short delay, say), so a waiter need not wait for work due in a quarter of an hour."""
        soon = utcnow() + SOON
        return sum(1 for due_at in self._held.values() if due_at <= soon)

    def hold(self, entry_id: str, due_at: datetime) -> None:
        """This process is responsible for the entry from now on."""
        self._held[entry_id] = due_at

    def settled(self, entry_id: str) -> None:
        """The entry is gone from the queue: nothing left to do or release."""
        self.let_go(entry_id)

    def let_go(self, entry_id: str) -> None:
        """This process no longer runs the entry: a sweep may take it over."""
        self._held.pop(entry_id, None)
        self._wakes.pop(entry_id, None)
        timer = self._timers.pop(entry_id, None)
        if timer is not None:
            timer.cancel()

    def park(self, entry_id: str, due_at: datetime, *, wake_at: datetime) -> None:
        """Keep the entry without a timer: at `wake_at` it is looked up again by `_id` (the
        revive hook) and carried on, if it is still this process's to run."""
        if self.stopping:
            return
        self.hold(entry_id, due_at)
        if (timer := self._timers.pop(entry_id, None)) is not None:
            timer.cancel()
        self._wakes[entry_id] = wake_at
        heapq.heappush(self._parked, (wake_at, entry_id))
        self._arm()

    def adopt(self, entry_id: str, due_at: datetime) -> None:
        """Run an entry this process owns already (from before a restart) when it is due."""
        horizon = self.timer_horizon or timedelta(0)
        self.park(entry_id, due_at, wake_at=max(utcnow(), due_at - horizon))

    def _arm(self) -> None:
        """One timer, for the earliest parked entry."""
        if not self._parked or self.stopping:
            return
        first = self._parked[0][0]
        if self._wake is not None:
            if self._wake[0] <= first:
                return
            self._wake[1].cancel()
        delay = max(0.0, (first - utcnow()).total_seconds())
        handle = asyncio.get_running_loop().call_later(delay, self._woken)
        self._wake = (first, handle)

    def _woken(self) -> None:
        self._wake = None
        now = utcnow()
        due: list[str] = []
        while self._parked and self._parked[0][0] <= now:
            wake_at, entry_id = heapq.heappop(self._parked)
            if self._wakes.get(entry_id) == wake_at:  # else settled, re-timed or re-parked
                del self._wakes[entry_id]
                due.append(entry_id)
        if due:
            task = asyncio.create_task(self._revive_all(due))
            self._reviving.add(task)
            task.add_done_callback(self._reviving.discard)
        self._arm()

    async def _revive_all(self, entry_ids: list[str]) -> None:
        assert self._revive is not None, "parked work needs a revive hook (revive_with)"
        revive = self._revive
        slots = asyncio.Semaphore(REVIVE_CONCURRENCY)

        async def one(entry_id: str) -> None:
            async with slots:
                if self.stopping or entry_id not in self._held:
                    return
                try:
                    await revive(entry_id)
                except Exception:
                    log.warning("parked work could not be looked up; trying again", exc_info=True)
                    self.park(entry_id, self._held[entry_id], wake_at=utcnow() + REVIVE_RETRY)

        await asyncio.gather(*(one(i) for i in entry_ids))

    def at(self, entry_id: str, due_at: datetime, work: Work) -> None:
        """Run `work` when the entry is due (at once if it is due already); work due past
        the timer horizon is parked until it is due within it."""
        if self.stopping:
            return
        if self.timer_horizon is not None and due_at > utcnow() + self.timer_horizon:
            self.park(entry_id, due_at, wake_at=due_at - self.timer_horizon)
            return
        self.hold(entry_id, due_at)
        self._wakes.pop(entry_id, None)
        if (previous := self._timers.pop(entry_id, None)) is not None:
            previous.cancel()
        delay = max(0.0, (due_at - utcnow()).total_seconds())
        loop = asyncio.get_running_loop()
        self._timers[entry_id] = loop.call_later(delay, self._fire, entry_id, work)

    async def soon(self, entry_id: str, due_at: datetime, work: Work) -> None:
        """Like `at`, but work due already waits (here) while the backlog is full."""
        if due_at > utcnow() or self.stopping:
            self.at(entry_id, due_at, work)
            return
        self.hold(entry_id, due_at)
        await self.dispatcher.submit(work())

    def _fire(self, entry_id: str, work: Work) -> None:
        self._timers.pop(entry_id, None)
        if not self.stopping:
            self.dispatcher.start(work())

    async def run_part(self, run: Coroutine[Any, Any, None]) -> None:
        """Fan a part out in the background; waits while enough parts are running already."""
        await self._parts.acquire()
        task = asyncio.create_task(run)
        self._background.add(task)

        def finished(done: "asyncio.Task[None]") -> None:
            self._background.discard(done)
            self._parts.release()
            if not done.cancelled() and done.exception() is not None:
                log.warning("announcement part failed; its lease will run out", exc_info=True)

        task.add_done_callback(finished)

    async def stop(self, grace: float) -> None:
        """Finish work in flight within `grace` seconds, then release what is left."""
        self.stopping = True
        for timer in self._timers.values():
            timer.cancel()
        self._timers.clear()
        if self._wake is not None:
            self._wake[1].cancel()
            self._wake = None
        for reviving in self._reviving:
            reviving.cancel()
        await asyncio.gather(*self._reviving, return_exceptions=True)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + grace
        background = set(self._background)
        if background:  # parts stop taking new recipients and wait for their attempts
            await asyncio.wait(background, timeout=grace)
        await self.dispatcher.drain(grace=max(0.0, deadline - loop.time()))
        for task in background:
            task.cancel()
        await asyncio.gather(*background, return_exceptions=True)
        horizon = utcnow() + self._release_horizon
        # Work due now is free to take at once; the rest goes to whichever instance next
        # sees this one's heartbeat ended (said below), or back to this one when it restarts.
        soon = [entry_id for entry_id, due in self._held.items() if due <= horizon]
        if soon:
            await self._queue.release(soon)
            log.info("released queued work on shutdown", extra={"count": len(soon)})
        self._held.clear()
        self._wakes.clear()
        self._parked.clear()
        await self._queue.beat(self.owner, utcnow())
