"""The outbox through outages: an unreachable broker or database is waited for, never a
reason to park an intent; a park that fails does not stop the outbox; once the broker is
back, one recovery covers every waiting change of the same thing."""

import asyncio
import contextlib
from collections.abc import Mapping
from typing import Any

from aiokafka.errors import KafkaTimeoutError
from faststream.kafka import KafkaBroker
from pymongo.errors import ServerSelectionTimeoutError

from shared.events.base import Event
from shared.kafka import EventPublisher
from shared.topics import MESSAGING_BLOCKS
from tests.shared.test_outbox import derive, outbox_on, set_block
from tests.support import TopicTail, body, eventually, unique


class BrokerAway(EventPublisher):
    """A publisher whose broker does not answer while `away` (as aiokafka reports it)."""

    away = True

    async def publish_all(self, events: list[Event]) -> None:
        if self.away:
            raise KafkaTimeoutError()
        await super().publish_all(events)


class FailingUpdates:
    """A collection whose updates fail (the database went away) while `failing`."""

    def __init__(self, collection: Any) -> None:
        self._collection = collection
        self.failing = True

    def __getattr__(self, name: str) -> Any:
        return getattr(self._collection, name)

    async def update_one(self, *args: Any, **kwargs: Any) -> Any:
        if self.failing:
            raise ServerSelectionTimeoutError("the database is away")
        return await self._collection.update_one(*args, **kwargs)


async def test_an_intent_is_never_parked_while_the_broker_is_away(
    broker: KafkaBroker, db: Any
) -> None:
    publisher = BrokerAway(broker, "/tests")
    outbox = outbox_on(db, publisher)
    pair = f"{unique('p-')}:c1"
    await outbox.intend("block", id=pair)
    await set_block(db, pair, True)

    for _ in range(6):  # more tries than an intent that cannot be recovered gets
        assert await outbox.sweep(at_start=True) == 0
    [waiting] = await outbox.pending(id=pair)
    assert "parked" not in waiting

    publisher.away = False
    async with TopicTail(MESSAGING_BLOCKS) as tail:
        assert await outbox.sweep(at_start=True) == 1
        [record] = await tail.wait_for(lambda r: r.key == pair.encode())
    assert body(record)["blocked"] is True
    assert await outbox.pending(id=pair) == []


async def test_a_park_that_fails_stops_nothing(broker: KafkaBroker, db: Any) -> None:
    intents = FailingUpdates(db["intents"])

    class Db:
        def __getitem__(self, name: str) -> Any:
            return intents if name == "intents" else db[name]

    outbox = outbox_on(Db(), EventPublisher(broker, "/tests"))

    async def broken(ref: Mapping[str, Any]) -> list[Event]:
        raise RuntimeError("a derivation bug")

    outbox.on("broken", broken)
    await outbox.intend("broken", id=unique())
    for _ in range(6):  # the fifth try parks it, which fails: the database is away
        assert await outbox.sweep(at_start=True) == 0

    intents.failing = False
    await outbox.sweep(at_start=True)  # parked now
    [left] = [i for i in await outbox.pending() if i["kind"] == "broken"]
    assert left.get("parked") is True


async def test_one_recovery_covers_the_waiting_changes_of_the_same_thing(
    broker: KafkaBroker, db: Any
) -> None:
    publisher = BrokerAway(broker, "/tests")
    outbox = outbox_on(db, publisher)
    recoveries: list[str] = []
    recover_block = outbox._recoverers["block"]

    async def counted(ref: Mapping[str, Any]) -> list[Event]:
        recoveries.append(ref["id"])
        return await recover_block(ref)

    outbox.on("block", counted)
    pair = f"{unique('p-')}:c1"
    background = asyncio.create_task(outbox.run())
    try:
        async with TopicTail(MESSAGING_BLOCKS) as tail:
            for n in range(20):  # toggled 20 times while the broker is away
                intent = await outbox.intend("block", id=pair)
                doc = await set_block(db, pair, n % 2 == 0)
                assert await outbox.publish_soon(intent, derive(doc)) is False
            assert await outbox.backlog() == 20
            recoveries.clear()
            publisher.away = False

            async def drained() -> bool:
                return await outbox.backlog() == 0

            await eventually(drained, timeout=60)
            records = await tail.wait_for(lambda r: r.key == pair.encode())
    finally:
        background.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await background

    assert len(recoveries) <= 2, recoveries  # one per round at most, not one per change
    assert body(records[-1])["blocked"] is False  # the latest state
