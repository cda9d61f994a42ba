"""Providers block, unblock and list their practice's clients (the BlockLists use cases)."""

from dataclasses import dataclass

import pytest

from services.blocking.domain import Client, ClientNotFound
from services.blocking.handlers import BLOCK_INTENT, BlockLists
from shared.events.base import Event
from shared.events.blocks import BlockChanged
from shared.ids import new_id
from tests.unit.blocking.fakes import FakeBlocks, FakeClients, FakeLists, FakeOutbox


@dataclass
class World:
    """The use cases on in-memory ports, and a practice with a provider."""

    clients: FakeClients
    blocks: FakeBlocks
    outbox: FakeOutbox
    lists: BlockLists
    practice: str
    provider: str

    def client(self, first: str = "Grace", last: str = "Hopper", *, practice: str = "") -> str:
        """A new client of the practice (or of another one); their id."""
        client_id = new_id()
        self.clients.add(Client(client_id, practice or self.practice, first, last, True))
        return client_id

    async def block(self, *client_ids: str) -> list[str]:
        """The provider blocks the clients; those newly blocked."""
        outcome = await self.lists.block(self.provider, self.practice, client_ids)
        return outcome.newly_blocked

    async def listed(self, query: str | None = None, limit: int = 50) -> list[str]:
        """The ids on the provider's block list."""
        found = await self.lists.page(self.provider, self.practice, query, after=None, limit=limit)
        return [b.client_id for b in found]


@pytest.fixture
def world() -> World:
    clients, blocks, outbox = FakeClients(), FakeBlocks(), FakeOutbox()
    lists = BlockLists(clients=clients, blocks=blocks, lists=FakeLists(blocks), outbox=outbox)
    return World(clients, blocks, outbox, lists, new_id(), new_id())


def changes(events: list[Event]) -> list[tuple[str, str, bool]]:
    """The published BlockChanged events as (provider, client, blocked)."""
    return [(e.provider_id, e.client_id, e.blocked) for e in events if isinstance(e, BlockChanged)]


async def test_blocking_publishes_block_changed_per_client(world: World) -> None:
    a, b = world.client(), world.client()

    assert await world.block(a, b) == [a, b]

    assert sorted(changes(world.outbox.published)) == sorted(
        [(world.provider, a, True), (world.provider, b, True)]
    )
    assert world.outbox.open == {}


async def test_each_change_is_preceded_by_an_intent_naming_its_pair(world: World) -> None:
    a = world.client()

    await world.block(a)

    assert [(i["kind"], i["ref"]) for i in world.outbox.intended] == [
        (BLOCK_INTENT, {"id": f"{world.provider}:{a}"})
    ]


async def test_a_bulk_outcome_names_each_requested_client_once(world: World) -> None:
    a, b = world.client(), world.client()
    await world.block(a)

    outcome = await world.lists.block(world.provider, world.practice, [b, a, b])

    assert (outcome.client_ids, outcome.newly_blocked) == ([b, a], [b])


async def test_blocking_again_changes_nothing(world: World) -> None:
    a = world.client()
    await world.block(a)
    published = len(world.outbox.published)

    assert await world.block(a) == []

    assert len(world.outbox.published) == published
    assert len(world.outbox.intended) == 1
    assert await world.listed() == [a]


async def test_a_bulk_block_with_another_practices_client_blocks_nobody(world: World) -> None:
    own, foreign = world.client(), world.client(practice=new_id())

    with pytest.raises(ClientNotFound):
        await world.block(own, foreign)

    assert await world.listed() == []
    assert world.outbox.intended == []


async def test_blocking_an_unknown_client_is_not_found(world: World) -> None:
    with pytest.raises(ClientNotFound):
        await world.block(new_id())


async def test_unblocking_publishes_blocked_false(world: World) -> None:
    a = world.client()
    await world.block(a)

    assert await world.lists.unblock(world.provider, world.practice, a) is True

    assert changes(world.outbox.published)[-1] == (world.provider, a, False)
    assert await world.listed() == []
    assert world.outbox.open == {}


async def test_unblocking_a_client_never_blocked_changes_nothing(world: World) -> None:
    a = world.client()

    assert await world.lists.unblock(world.provider, world.practice, a) is False

    assert world.outbox.intended == []


async def test_unblocking_twice_changes_nothing_the_second_time(world: World) -> None:
    a = world.client()
    await world.block(a)
    await world.lists.unblock(world.provider, world.practice, a)

    assert await world.lists.unblock(world.provider, world.practice, a) is False

    assert len(changes(world.outbox.published)) == 2


async def test_unblocking_an_unknown_client_is_not_found(world: World) -> None:
    with pytest.raises(ClientNotFound):
        await world.lists.unblock(world.provider, world.practice, new_id())


async def test_unblocking_a_pair_of_another_practice_is_not_found(world: World) -> None:
    other = new_id()
    foreign = world.client(practice=other)
    await world.lists.block(world.provider, other, [foreign])

    with pytest.raises(ClientNotFound):
        await world.lists.unblock(world.provider, world.practice, foreign)

    assert await world.blocks.blocked_among(world.provider, [foreign]) == {foreign}


async def test_a_pair_gone_before_its_unblock_is_written_discards_the_intent(
    world: World,
) -> None:
    a = world.client()
    await world.block(a)
    world.blocks.vanish_before_unblock = True

    await world.lists.unblock(world.provider, world.practice, a)

    assert [d["ref"] for d in world.outbox.discarded] == [{"id": f"{world.provider}:{a}"}]
    assert world.outbox.open == {}
    assert changes(world.outbox.published) == [(world.provider, a, True)]


async def test_the_list_matches_first_or_last_name_in_any_case_and_spacing(world: World) -> None:
    grace, alan = world.client("Grace", "Hopper"), world.client("Alan", "Turing")
    await world.block(grace, alan)

    assert await world.listed("  HOPPER   grace ") == [grace]
    assert await world.listed("grace hopper") == [grace]
    assert await world.listed("   ") == [grace, alan]  # Hopper before Turing


async def test_the_list_pages_in_name_order(world: World) -> None:
    ids = [world.client(last=last) for last in ("Cole", "Abel", "Baker")]
    await world.block(*ids)

    first = await world.lists.page(world.provider, world.practice, None, after=None, limit=2)
    second = await world.lists.page(
        world.provider, world.practice, None, after=first[-1].sort_key, limit=2
    )

    assert [b.last_name for b in first + second] == ["Abel", "Baker", "Cole"]


async def test_recovery_republishes_the_pairs_current_revision(world: World) -> None:
    a = world.client()
    await world.block(a)
    await world.lists.unblock(world.provider, world.practice, a)
    latest = world.outbox.published[-1]

    recovered = await world.lists.recover({"id": f"{world.provider}:{a}"})

    assert recovered == [latest]


async def test_recovery_of_a_pair_never_stored_publishes_nothing(world: World) -> None:
    assert await world.lists.recover({"id": f"{world.provider}:{new_id()}"}) == []
