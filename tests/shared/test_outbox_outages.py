"""The outbox through outages: an unreachable broker or database is waited for, never a
reason to park an intent, and a park that fails does not stop the outbox."""

from collections.abc import Mapping
from typing import Any

from aiokafka.errors import KafkaTimeoutError
from faststream.kafka import KafkaBroker
from pymongo.errors import ServerSelectionTimeoutError

from shared.events.base import Event
from shared.kafka import EventPublisher
from shared.topics import MESSAGING_BLOCKS
from tests.shared.test_outbox import broker, db, outbox_on, set_block
from tests.support import TopicTail, body, unique

__all__ = ["broker", "db"]  # fixtures


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
