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
        self._tasks: set[asyncio.Task[None]] = set()

    async def _limited(self, work: Coroutine[Any, Any, None]) -> None:
        async with self._slots:
            try:
                await work
            except Exception:
                # The record stays open: its lease runs out and the scheduler retries it.
                log.warning("delivery attempt failed unexpectedly", exc_info=True)

    async def submit(self, work: Coroutine[Any, Any, None]) -> None:
        """Start work in the background; waits only while the backlog is full."""
        while len(self._tasks) >= self._backlog:
            await asyncio.wait(self._tasks, return_when=asyncio.FIRST_COMPLETED)
        task = asyncio.create_task(self._limited(work))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def run(self, works: list[Coroutine[Any, Any, None]]) -> None:
        """Run a batch of work under the same limit and wait for all of it."""
        await asyncio.gather(*(self._limited(w) for w in works))

    async def close(self) -> None:
        """Stop whatever is running; open records are picked up again after their lease."""
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
