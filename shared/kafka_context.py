"""Handler parameters from FastStream's context, resolved on the event loop.

FastStream 0.6 resolves a `Context(...)` parameter with a sync method, and fast_depends
runs every sync resolver in a worker thread of anyio's pool: a thread hop for every
message and every such parameter, with the GIL handed back and forth, in every consumer.
These resolve the same way, awaited in place.
"""

from typing import Annotated, Any

# The class behind FastStream's `Context()` (its public factory returns one).
from faststream._internal.context import Context as ContextField
from faststream.kafka.message import KafkaMessage as RawKafkaMessage


class _OnLoop(ContextField):  # type: ignore[misc]  # FastStream does not export its type
    """A context parameter whose resolver is a coroutine, so it is not sent to a thread."""

    async def use(self, /, **kwargs: Any) -> dict[str, Any]:
        resolved: dict[str, Any] = super().use(**kwargs)
        return resolved


def from_context(name: str) -> Any:
    """A handler parameter taken from the broker's context, as `Context(name)` is."""
    return _OnLoop(real_name=name)


# The message being handled (a batch handler's carries all its records).
KafkaMessage = Annotated[RawKafkaMessage, _OnLoop("message")]
