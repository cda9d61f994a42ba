"""The outbox: intents recorded before a change, forgotten after its publish, recovered after a crash."""

import asyncio
import contextlib
from collections.abc import Mapping
from typing import Any

from faststream.kafka import KafkaBroker

from shared.events.base import Event
from shared.events.blocks import BlockChanged
from shared.ids import stable_uuid
from shared.kafka import EventPublisher
from shared.outbox import Outbox, new_revision
from shared.topics import MESSAGING_BLOCKS
from tests.support import TopicTail, body, unique


def derive(doc: Mapping[str, Any]) -> list[Event]:
    return [
        BlockChanged(
            event_id=stable_uuid(doc["_id"], doc["rev"], "block"),
            practice_id="pr",
            provider_id=doc["provider_id"],
            client_id=doc["client_id"],
            blocked=doc["blocked"],
        )
    ]


def outbox_on(db: Any, publisher: Any, **options: Any) -> Outbox:
    """An outbox whose `block` intents re-derive from the current block document."""
    outbox = Outbox(db, publisher, **options)

    async def recover(ref: Mapping[str, Any]) -> list[Event]:
        doc = await db["blocks"].find_one({"_id": ref["id"]})
        return derive(doc) if doc else []

    outbox.on("block", recover)
    return outbox


async def set_block(db: Any, pair: str, blocked: bool) -> dict[str, Any]:
    provider, client = pair.split(":")
    fields = {"provider_id": provider, "client_id": client, "blocked": blocked, **new_revision()}
    await db["blocks"].update_one({"_id": pair}, {"$set": fields}, upsert=True)
    return {"_id": pair, **fields}


async def test_a_published_change_leaves_no_intent(broker: KafkaBroker, db: Any) -> None:
    outbox = outbox_on(db, EventPublisher(broker, "/tests"))
    pair = f"{unique('p-')}:c1"

    intent = await outbox.intend("block", id=pair)
    doc = await set_block(db, pair, True)
    assert await outbox.publish_soon(intent, derive(doc)) is True
    await outbox.flush()

    assert await outbox.pending() == []


async def test_a_clean_stop_leaves_no_intent_for_the_next_start(
    broker: KafkaBroker, db: Any
) -> None:
    outbox = outbox_on(db, EventPublisher(broker, "/tests"))
    pairs = [f"{unique('p-')}:c{i}" for i in range(5)]
    for pair in pairs:
        intent = await outbox.intend("block", id=pair)
        outbox.publish_later(intent, derive(await set_block(db, pair, True)))

    await outbox.close()  # no flush loop ran: the deletes go out now

    restarted = outbox_on(db, EventPublisher(broker, "/tests"))
    assert await restarted.pending() == []
    assert await restarted.sweep(at_start=True) == 0


async def test_an_intent_left_by_a_crash_is_published_by_the_next_process(
    broker: KafkaBroker, db: Any
) -> None:
    crashed = outbox_on(db, EventPublisher(broker, "/tests"))
    pair = f"{unique('p-')}:c1"
    await crashed.intend("block", id=pair)
    await set_block(db, pair, True)  # then the process died before publishing

    restarted = outbox_on(db, EventPublisher(broker, "/tests"))
    async with TopicTail(MESSAGING_BLOCKS) as tail:
        assert await restarted.sweep(at_start=True) == 1
        [record] = await tail.wait_for(lambda r: r.key == pair.encode())

    assert body(record)["blocked"] is True
    assert await restarted.pending() == []


async def test_recovery_publishes_the_current_revision_never_a_stale_one(
    broker: KafkaBroker, db: Any
) -> None:
    crashed = outbox_on(db, EventPublisher(broker, "/tests"))
    pair = f"{unique('p-')}:c1"
    await crashed.intend("block", id=pair)
    await set_block(db, pair, True)
    await crashed.intend("block", id=pair)
    latest = await set_block(db, pair, False)  # both changes died before publishing

    restarted = outbox_on(db, EventPublisher(broker, "/tests"))
    async with TopicTail(MESSAGING_BLOCKS) as tail:
        assert await restarted.sweep(at_start=True) == 2
        records = await tail.wait_for(lambda r: r.key == pair.encode())

    assert {body(r)["blocked"] for r in records} == {False}
    assert {body(r)["event_id"] for r in records} == {str(derive(latest)[0].event_id)}
    assert await restarted.pending() == []


async def test_one_recovery_at_start_settles_the_intents_it_covers(
    broker: KafkaBroker, db: Any
) -> None:
    crashed = outbox_on(db, EventPublisher(broker, "/tests"))
    pair = f"{unique('p-')}:c1"
    for blocked in (True, False, True):  # three changes of one pair died before publishing
        await crashed.intend("block", id=pair)
        await set_block(db, pair, blocked)
    restarted = Outbox(db, EventPublisher(broker, "/tests"))
    recoveries: list[str] = []

    async def recover(ref: Mapping[str, Any]) -> list[Event]:
        recoveries.append(ref["id"])
        doc = await db["blocks"].find_one({"_id": ref["id"]})
        return derive(doc) if doc else []

    restarted.on("block", recover)  # covers: an intent of the same block

    assert await restarted.sweep(at_start=True) == 3
    assert recoveries == [pair]  # the current state, published once, settles all three
    assert await restarted.pending() == []


async def test_a_discarded_intent_publishes_nothing(broker: KafkaBroker, db: Any) -> None:
    outbox = outbox_on(db, EventPublisher(broker, "/tests"))
    pair = f"{unique('p-')}:c1"

    outbox.discard(await outbox.intend("block", id=pair))
    await outbox.flush()

    async with TopicTail(MESSAGING_BLOCKS) as tail:
        assert await outbox.sweep(at_start=True) == 0
        records = await tail.settle(0.5)
    assert [r for r in records if r.key == pair.encode()] == []


async def test_a_publish_that_times_out_is_retried_in_the_background(
    broker: KafkaBroker, db: Any
) -> None:
    # No time at all for the inline attempt, as when the broker is slow to answer.
    outbox = outbox_on(db, EventPublisher(broker, "/tests"), inline_timeout=0)
    pair = f"{unique('p-')}:c1"
    background = asyncio.create_task(outbox.run())
    try:
        async with TopicTail(MESSAGING_BLOCKS) as tail:
            intent = await outbox.intend("block", id=pair)
            doc = await set_block(db, pair, True)
            assert await outbox.publish_soon(intent, derive(doc)) is False
            [record] = await tail.wait_for(lambda r: r.key == pair.encode())
    finally:
        background.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await background

    assert body(record)["blocked"] is True


async def test_an_intent_that_cannot_be_recovered_holds_up_no_other_and_is_parked(
    broker: KafkaBroker, db: Any
) -> None:
    outbox = outbox_on(db, EventPublisher(broker, "/tests"))

    async def broken(ref: Mapping[str, Any]) -> list[Event]:
        raise RuntimeError("a derivation bug")

    outbox.on("broken", broken)
    pair = f"{unique('p-')}:c1"
    await outbox.intend("broken", id="whatever")  # stored first, so swept first
    await outbox.intend("block", id=pair)
    await set_block(db, pair, True)

    async with TopicTail(MESSAGING_BLOCKS) as tail:
        assert await outbox.sweep(at_start=True) == 1
        await tail.wait_for(lambda r: r.key == pair.encode())
    for _ in range(4):
        await outbox.sweep(at_start=True)

    [left] = await outbox.pending()
    assert (left["kind"], left.get("parked"), left.get("error_type")) == (
        "broken",
        True,
        "RuntimeError",
    )
    assert await outbox.sweep(at_start=True) == 0
