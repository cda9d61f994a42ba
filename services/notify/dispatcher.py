"""Bounded background work: deliveries run beside the consumers, never inside them."""

import asyncio
import logging
from collections.abc import Coroutine
from typing import Any

log = logging.getLogger(__name__)


class Dispatcher:
    """Runs delivery attempts with a concurrency limit and a bounded backlog."""

    def __init__(self, concurrency: int, *, backlog: int = 2000) -> None:
        self._slots = asyncio.Semaphore(concurrency)
        self._backlog = backlog
        self._tasks: set[asyncio.Task[bool]] = set()
        self._room = asyncio.Event()  # set while the backlog has room
        self._room.set()

    async def _limited(self, work: Coroutine[Any, Any, bool]) -> bool:
        async with self._slots:
            try:
                return await work
            except Exception:
                # The work stays queued: its lease runs out and the sweep takes it over.
                log.warning("delivery attempt failed unexpectedly", exc_info=True)
                return False

    def start(self, work: Coroutine[Any, Any, bool]) -> "asyncio.Task[bool]":
        """Start work in the background at once (it waits for a free slot to run)."""
        task = asyncio.create_task(self._limited(work))
        self._tasks.add(task)
        if len(self._tasks) >= self._backlog:
            self._room.clear()
        task.add_done_callback(self._finished)
        return task

    def _finished(self, task: "asyncio.Task[bool]") -> None:
        self._tasks.discard(task)
        if len(self._tasks) < self._backlog:
            self._room.set()

    async def submit(self, work: Coroutine[Any, Any, bool]) -> "asyncio.Task[bool]":
        """Start work in the background; waits first while the backlog is full.

        The wait is on one event set as a task finishes: waiting on the backlog's tasks
        themselves (asyncio.wait) cost a pass over all 2,000 of them per finished task,
        and kept a core busy whenever the backlog was full.
        """
        while len(self._tasks) >= self._backlog:
            await self._room.wait()
        return self.start(work)

    @property
    def busy(self) -> int:
        """Attempts running or waiting for a slot."""
        return len(self._tasks)

    async def drain(self, grace: float) -> None:
        """Let running work finish for up to `grace` seconds, then cancel what is left."""
        if self._tasks:
            await asyncio.wait(set(self._tasks), timeout=grace)
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
