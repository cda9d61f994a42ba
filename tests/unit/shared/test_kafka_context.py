"""Context parameters of handlers are resolved on the event loop, not in a worker thread.

FastStream's own `Context` is resolved by a sync method that fast_depends sends to anyio's
thread pool for every message; `shared.kafka_context` resolves the same values in place.
Run on FastStream's in-memory broker (no Kafka needed for how a handler is called).
"""

from typing import Any

import anyio.to_thread
import pytest
from faststream import Context
from faststream.kafka import KafkaBroker, TestKafkaBroker

from shared.kafka_context import KafkaMessage, from_context


@pytest.fixture
def thread_hops(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The names of the functions sent to a worker thread."""
    hops: list[str] = []
    run_sync = anyio.to_thread.run_sync

    async def counted(func: Any, *args: Any, **kwargs: Any) -> Any:
        hops.append(getattr(func, "__qualname__", repr(func)))
        return await run_sync(func, *args, **kwargs)

    monkeypatch.setattr(anyio.to_thread, "run_sync", counted)
    return hops


async def test_context_parameters_resolve_without_a_thread(thread_hops: list[str]) -> None:
    broker = KafkaBroker()
    seen: list[tuple[str, str, str]] = []

    @broker.subscriber("test.context")
    async def handle(body: str, message: KafkaMessage, deps: str = from_context("deps")) -> None:
        seen.append((body, deps, message.raw_message.topic))

    broker.context.set_global("deps", "the deps")
    async with TestKafkaBroker(broker) as test:
        await test.publish("hello", "test.context")

    assert seen == [("hello", "the deps", "test.context")]
    assert thread_hops == []


async def test_faststreams_own_context_goes_through_a_thread(thread_hops: list[str]) -> None:
    broker = KafkaBroker()
    seen: list[str] = []

    @broker.subscriber("test.context")
    async def handle(body: str, deps: str = Context("deps")) -> None:
        seen.append(deps)

    broker.context.set_global("deps", "the deps")
    async with TestKafkaBroker(broker) as test:
        await test.publish("hello", "test.context")

    assert seen == ["the deps"]
    assert thread_hops, "the control: FastStream's Context is resolved in a worker thread"
