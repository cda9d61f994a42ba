"""Group commit: what callers ask of one collection while a round trip is under way goes out
together in the next one, so a busy process makes one round trip for many callers and an
idle one adds no delay at all.

Inserts go in one unordered bulk insert, reads and deletes by `_id` in one `{_id: {$in}}`
filter (served from the `_id` index by MongoDB, and by the development server with the
project's patch). A single waiting caller gets the plain single-document command.
"""

import asyncio
from collections import defaultdict
from collections.abc import Awaitable, Callable, Hashable, Iterable
from typing import Any, Generic, TypeVar

from pymongo.errors import BulkWriteError, DuplicateKeyError

from shared.mongo import DUPLICATE_KEY, ID_BATCH

MAX_BATCH = 500

Item = TypeVar("Item")
Result = TypeVar("Result")


class _GroupCommit(Generic[Item, Result]):
    """Items asked for while a batch is out wait for the next batch (one writer at a time)."""

    def __init__(self, max_batch: int) -> None:
        self._max_batch = max_batch
        self._waiting: list[tuple[Item, asyncio.Future[Result]]] = []
        self._worker: asyncio.Task[None] | None = None

    async def _submit(self, item: Item) -> Result:
        done: asyncio.Future[Result] = asyncio.get_running_loop().create_future()
        self._waiting.append((item, done))
        if self._worker is None or self._worker.done():
            self._worker = asyncio.create_task(self._run_while_waiting())
        return await done

    async def _run_while_waiting(self) -> None:
        while self._waiting:
            batch, self._waiting = (
                self._waiting[: self._max_batch],
                self._waiting[self._max_batch :],
            )
            try:
                results = await self._run([item for item, _ in batch])
            except Exception as error:  # the whole batch failed: every caller learns it
                results = [error] * len(batch)
            for (_, done), result in zip(batch, results, strict=True):
                if done.done():
                    continue
                if isinstance(result, BaseException):
                    done.set_exception(result)
                else:
                    done.set_result(result)

    async def _run(self, items: list[Item]) -> list[Result | BaseException]:
        raise NotImplementedError


class InsertBatcher(_GroupCommit[dict[str, Any], None]):
    """Inserts into one collection, batched by whoever is waiting at the same time."""

    def __init__(self, collection: Any, *, max_batch: int = MAX_BATCH) -> None:
        super().__init__(max_batch)
        self._collection = collection

    async def insert(self, document: dict[str, Any]) -> None:
        """Insert one document; returns once it is durable (raises what its insert raised,
        DuplicateKeyError for an `_id` that exists)."""
        await self._submit(document)

    async def _run(self, items: list[dict[str, Any]]) -> list[BaseException | None]:
        results: list[BaseException | None] = [None] * len(items)
        try:
            if len(items) == 1:
                await self._collection.insert_one(items[0])
            else:
                await self._collection.insert_many(items, ordered=False)
        except DuplicateKeyError as error:
            results[0] = error
        except BulkWriteError as error:
            for failure in error.details.get("writeErrors", []):
                results[failure["index"]] = (
                    DuplicateKeyError(failure.get("errmsg", "duplicate key"))
                    if failure.get("code") == DUPLICATE_KEY
                    else error
                )
        return results


async def insert_each(batcher: InsertBatcher, documents: list[dict[str, Any]]) -> set[Hashable]:
    """Insert documents through the batcher (with whatever concurrent callers insert);
    returns the `_id`s that existed already. Any other failure is raised."""
    results = await asyncio.gather(
        *(batcher.insert(doc) for doc in documents), return_exceptions=True
    )
    existing: set[Hashable] = set()
    for doc, result in zip(documents, results, strict=True):
        if isinstance(result, DuplicateKeyError):
            existing.add(doc["_id"])
        elif isinstance(result, BaseException):
            raise result
    return existing


class FindBatcher(_GroupCommit[Hashable, dict[str, Any] | None]):
    """Reads of one collection by `_id`, batched by whoever is waiting at the same time."""

    def __init__(self, collection: Any, *, max_batch: int = ID_BATCH) -> None:
        super().__init__(max_batch)
        self._collection = collection

    async def get(self, doc_id: Hashable) -> dict[str, Any] | None:
        """The document with this `_id`, or None."""
        return await self._submit(doc_id)

    async def _run(self, items: list[Hashable]) -> list[dict[str, Any] | BaseException | None]:
        if len(items) == 1:
            return [await self._collection.find_one({"_id": items[0]})]
        ids = list(dict.fromkeys(items))
        found = {doc["_id"]: doc async for doc in self._collection.find({"_id": {"$in": ids}})}
        return [found.get(i) for i in items]


class DeleteBatcher(_GroupCommit[Hashable, None]):
    """Deletes from one collection by `_id`, batched by whoever is waiting at the same time."""

    def __init__(self, collection: Any, *, max_batch: int = ID_BATCH) -> None:
        super().__init__(max_batch)
        self._collection = collection

    async def delete(self, doc_id: Hashable) -> None:
        """Delete the document with this `_id` (nothing if there is none)."""
        await self._submit(doc_id)

    async def _run(self, items: list[Hashable]) -> list[BaseException | None]:
        if len(items) == 1:
            await self._collection.delete_one({"_id": items[0]})
        else:
            await self._collection.delete_many({"_id": {"$in": list(dict.fromkeys(items))}})
        return [None] * len(items)


async def each_in_order(
    items: Iterable[Item],
    *,
    key: Callable[[Item], Hashable],
    run: Callable[[Item], Awaitable[Any]],
    concurrency: int,
) -> None:
    """Run `run` on every item: one key's items one after another, in order, different
    keys' side by side (at most `concurrency` keys at once), so their commands meet in the
    group commits above. One failure cancels the rest and is raised."""
    by_key: dict[Hashable, list[Item]] = defaultdict(list)
    for item in items:
        by_key[key(item)].append(item)
    limit = asyncio.Semaphore(concurrency)

    async def in_order(own: list[Item]) -> None:
        async with limit:
            for item in own:
                await run(item)

    async with asyncio.TaskGroup() as group:
        for own in by_key.values():
            group.create_task(in_order(own))
