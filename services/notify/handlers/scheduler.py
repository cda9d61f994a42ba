"""The in-process scheduler: this instance's queued work, run on timers instead of polling.

Work this process queued (a delayed email, a retry, an announcement part) or took over
from a dead instance runs on an asyncio timer at its due time. Nothing is polled: at
rest the process sleeps. On a graceful stop, work in flight gets a grace period to
finish; whatever is left, and work due soon, is released in the queue so the next
instance to sweep (another one, or this one restarted) runs it at once instead of
waiting for the lease to run out.
"""

import asyncio
import logging
from collections.abc import Callable, Coroutine
from datetime import datetime, timedelta
from typing import Any

from services.notify.dispatcher import Dispatcher
from services.notify.ports import QueuePort
from shared.clock import utcnow

log = logging.getLogger(__name__)

Work = Callable[[], Coroutine[Any, Any, bool]]


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
        # Work due later than this gets no timer here: it waits in the queue, and the sweep
        # takes it back once it is due within the horizon (memory stays bounded by the work
        # due soon, not by, say, every unread message's delayed email).
        self.timer_horizon = timer_horizon
        self._held: dict[str, datetime] = {}  # entry id -> due time
        self._timers: dict[str, asyncio.TimerHandle] = {}
        self._parts = asyncio.Semaphore(part_concurrency)
        self._background: set[asyncio.Task[None]] = set()

    def holds(self, entry_id: str) -> bool:
        """True while this process runs (or will run) the entry."""
        return entry_id in self._held

    async def due_work(self) -> int:
        """Entries this process holds that are due now (its deliveries still to run)."""
        now = utcnow()
        return sum(1 for due_at in self._held.values() if due_at <= now)

    def hold(self, entry_id: str, due_at: datetime) -> None:
        """This process is responsible for the entry from now on."""
        self._held[entry_id] = due_at

    def settled(self, entry_id: str) -> None:
        """The entry is gone from the queue: nothing left to do or release."""
        self.let_go(entry_id)

    def let_go(self, entry_id: str) -> None:
        """This process no longer runs the entry: a sweep may take it over."""
        self._held.pop(entry_id, None)
        timer = self._timers.pop(entry_id, None)
        if timer is not None:
            timer.cancel()

    def at(self, entry_id: str, due_at: datetime, work: Work) -> None:
        """Run `work` when the entry is due (at once if it is due already); work due past
        the timer horizon is left in the queue to the sweep."""
        if self.stopping:
            return
        if self.timer_horizon is not None and due_at > utcnow() + self.timer_horizon:
            self.let_go(entry_id)
            return
        self.hold(entry_id, due_at)
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
        # Work due later stays ours: a restart takes it back at once; another instance
        # after its lease. Work due now is handed over without that wait.
        soon = [entry_id for entry_id, due in self._held.items() if due <= horizon]
        if soon:
            await self._queue.release(soon)
            log.info("released queued work on shutdown", extra={"count": len(soon)})
        self._held.clear()
