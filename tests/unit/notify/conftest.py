"""Worlds of fakes whose scheduler stops after each test (timers never outlive it)."""

from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest

from tests.unit.notify.world import World


@pytest.fixture
async def make_world() -> AsyncIterator[Callable[..., World]]:
    """Build worlds with given timings; each one's scheduler stops at the end of the test."""
    made: list[World] = []

    def make(**options: Any) -> World:
        world = World(**options)
        made.append(world)
        return world

    yield make
    for world in made:
        await world.scheduler.stop(0)


@pytest.fixture
def world(make_world: Callable[..., World]) -> World:
    """A world with default timings (an email goes as soon as its job is accepted)."""
    return make_world()
