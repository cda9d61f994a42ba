"""Group commit for inserts: documents asked for while a batch is being written go out
together in the next one, so a busy process makes one round trip for many callers and an
idle one adds no delay at all."""

import asyncio
from typing import Any

from pymongo.errors import BulkWriteError, DuplicateKeyError

MAX_BATCH = 500


class InsertBatcher:
    """Inserts into one collection, batched by whoever is waiting at the same time."""

    def __init__(self, collection: Any, *, max_batch: int = MAX_BATCH) -> None:
        self._collection = collection
        self._max_batch = max_batch
        self._waiting: list[tuple[dict[str, Any], asyncio.Future[None]]] = []
        self._writer: asyncio.Task[None] | None = None

    async def insert(self, document: dict[str, Any]) -> None:
        """Insert one document; returns once it is durable (raises what its insert raised)."""
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiting.append((document, done))
        if self._writer is None or self._writer.done():
            self._writer = asyncio.create_task(self._write_while_waiting())
        await done

    async def _write_while_waiting(self) -> None:
        while self._waiting:
            batch, self._waiting = (
                self._waiting[: self._max_batch],
                self._waiting[self._max_batch :],
            )
            await self._write(batch)

    async def _write(self, batch: list[tuple[dict[str, Any], asyncio.Future[None]]]) -> None:
        failed: dict[int, BaseException] = {}
        try:
            if len(batch) == 1:
                await self._collection.insert_one(batch[0][0])
            else:
                await self._collection.insert_many([doc for doc, _ in batch], ordered=False)
        except BulkWriteError as error:
            for item in error.details.get("writeErrors", []):
                failed[item["index"]] = (
                    DuplicateKeyError(item.get("errmsg", "duplicate key"))
                    if item.get("code") == 11000
                    else error
                )
        except Exception as error:  # the whole batch failed: every caller learns it
            failed = dict.fromkeys(range(len(batch)), error)
        for index, (_, done) in enumerate(batch):
            if done.done():
                continue
            if index in failed:
                done.set_exception(failed[index])
            else:
                done.set_result(None)
