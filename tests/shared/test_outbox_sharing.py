"""Shared intents: a burst of changes on one key writes one intent, and loses nothing.

The intents here are like a thread's messages: lines appended to a log with seqs, and an
intent recovered by republishing every line after its `after_seq`.
"""

import asyncio
import contextlib
from collections.abc import AsyncIterator, Mapping
from typing import Any

from faststream.kafka import KafkaBroker

from shared.events.base import Event
from shared.events.blocks import BlockChanged
from shared.ids import stable_uuid
from shared.kafka import EventPublisher
from shared.outbox import Outbox
from shared.topics import MESSAGING_BLOCKS
from tests.support import TopicTail, eventually, unique

SPAN = 100


def line_events(doc: Mapping[str, Any]) -> list[Event]:
    """One event per stored line, keyed `<log>:<seq>` (a BlockChanged stands in)."""
    return [
        BlockChanged(
            event_id=stable_uuid(doc["_id"], "line"),
            practice_id="pr",
            provider_id=doc["log"],
            client_id=str(doc["seq"]),
            blocked=True,
        )
    ]


def log_outbox(db: Any, broker: KafkaBroker, **options: Any) -> Outbox:
    outbox = Outbox(db, EventPublisher(broker, "/tests"), **options)

    async def recover(ref: Mapping[str, Any]) -> list[Event]:
        found: list[Event] = []
        for seq in range(ref["after_seq"] + 1, ref["after_seq"] + SPAN):
            doc = await db["lines"].find_one({"_id": f"{ref['log']}:{seq}"})
            if doc is None:
                break
            found += line_events(doc)
        return found

    def covers(recovered: Mapping[str, Any], waiting: Mapping[str, Any]) -> bool:
        start: int = recovered["after_seq"]
        return bool(
            recovered["log"] == waiting["log"] and start <= waiting["after_seq"] < start + SPAN // 2
        )

    outbox.on("line", recover, covers=covers)
    return outbox


@contextlib.asynccontextmanager
async def background_of(outbox: Outbox) -> AsyncIterator[None]:
    """The outbox's background work (deletes, retries) running for the block's length."""
    task = asyncio.create_task(outbox.run())
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def append(outbox: Outbox, db: Any, log: str, seq: int) -> tuple[Any, dict[str, Any]]:
    """Intend, then store line `seq` (the caller publishes, or 'dies')."""
    intent = await outbox.intend("line", share=log, log=log, after_seq=seq - 1)
    doc = {"_id": f"{log}:{seq}", "log": log, "seq": seq}
    await db["lines"].insert_one(doc)
    return intent, doc


async def test_a_burst_on_one_key_writes_one_intent_deleted_once_all_is_published(
    broker: KafkaBroker, db: Any
) -> None:
    outbox = log_outbox(db, broker)
    log, other = unique("log-"), unique("log-")

    first, doc1 = await append(outbox, db, log, 1)
    second, doc2 = await append(outbox, db, log, 2)  # joins while the first is in flight
    elsewhere, _ = await append(outbox, db, other, 1)

    assert second["_id"] == first["_id"] != elsewhere["_id"]
    assert len(await outbox.pending(log=log)) == 1
    assert await outbox.publish_soon(first, line_events(doc1)) is True
    assert await outbox.publish_soon(second, line_events(doc2)) is True
    third, doc3 = await append(outbox, db, log, 3)  # within the linger: joins still
    assert third["_id"] == first["_id"]
    assert await outbox.publish_soon(third, line_events(doc3)) is True
    outbox.discard(elsewhere)

    await outbox.close()  # a clean stop deletes the lingering intent too
    assert await outbox.pending() == []


async def test_an_intent_lingers_unused_a_moment_then_goes(broker: KafkaBroker, db: Any) -> None:
    outbox = log_outbox(db, broker)
    log = unique("log-")
    async with background_of(outbox):
        intent, doc = await append(outbox, db, log, 1)
        assert await outbox.publish_soon(intent, line_events(doc)) is True
        assert len(await outbox.pending(log=log)) == 1  # lingering for the next send

        async def gone() -> bool:
            return await outbox.pending(log=log) == []

        await eventually(gone, timeout=10)
        after, _ = await append(outbox, db, log, 2)
        assert after["_id"] != intent["_id"]  # a new burst writes a new intent


async def test_a_change_its_recovery_would_miss_writes_its_own_intent(
    broker: KafkaBroker, db: Any
) -> None:
    outbox = log_outbox(db, broker)
    log = unique("log-")

    first, _ = await append(outbox, db, log, 1)
    far, _ = await append(outbox, db, log, 1 + SPAN // 2)

    assert far["_id"] != first["_id"]
    assert len(await outbox.pending(log=log)) == 2


async def test_a_stop_before_a_joined_change_was_published_leaves_it_to_the_next_start(
    broker: KafkaBroker, db: Any
) -> None:
    stopped = log_outbox(db, broker)
    log = unique("log-")
    first, doc1 = await append(stopped, db, log, 1)
    await append(stopped, db, log, 2)  # joined, stored, not yet published...
    assert await stopped.publish_soon(first, line_events(doc1)) is True
    await stopped.close()  # ...when the process stopped (or died)

    assert len(await stopped.pending(log=log)) == 1  # the first publish did not delete it
    restarted = log_outbox(db, broker)
    async with TopicTail(MESSAGING_BLOCKS) as tail:
        assert await restarted.sweep(at_start=True) == 1
        await tail.wait_for(lambda r: r.key == f"{log}:2".encode())
    assert await restarted.pending() == []


async def test_joined_changes_whose_publish_failed_are_retried_then_the_intent_goes(
    broker: KafkaBroker, db: Any
) -> None:
    # No time at all for the inline attempts, as when the broker is slow to answer.
    outbox = log_outbox(db, broker, inline_timeout=0)
    log = unique("log-")
    async with background_of(outbox):
        async with TopicTail(MESSAGING_BLOCKS) as tail:
            first, doc1 = await append(outbox, db, log, 1)
            second, doc2 = await append(outbox, db, log, 2)
            assert await outbox.publish_soon(first, line_events(doc1)) is False
            assert await outbox.publish_soon(second, line_events(doc2)) is False
            keys = {f"{log}:1".encode(), f"{log}:2".encode()}
            await tail.wait_for_each(lambda r: r.key, keys)

        async def gone() -> bool:
            return await outbox.pending(log=log) == [] and await outbox.backlog() == 0

        await eventually(gone, timeout=15)
