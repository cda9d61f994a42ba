"""The local client directory, and client names in the block lists (ClientProjection)."""

from services.blocking.domain import Client
from services.blocking.handlers import BlockLists, ClientProjection
from shared.events.clients import ClientRecordChanged
from shared.ids import new_id
from tests.unit.blocking.fakes import FakeBlocks, FakeClients, FakeLists, FakeOutbox


def record(client_id: str, practice_id: str, last_name: str = "Hopper") -> ClientRecordChanged:
    return ClientRecordChanged(
        practice_id=practice_id, client_id=client_id, first_name="Grace", last_name=last_name
    )


async def test_a_new_client_is_projected() -> None:
    clients = FakeClients()
    practice, client_id = new_id(), new_id()

    await ClientProjection(clients).record(record(client_id, practice))

    assert await clients.get(practice, client_id) == Client(
        client_id, practice, "Grace", "Hopper", True
    )


async def test_a_renamed_client_shows_the_new_name_in_block_lists() -> None:
    clients, blocks, outbox = FakeClients(), FakeBlocks(), FakeOutbox()
    projection = ClientProjection(clients)
    lists = BlockLists(clients, blocks, FakeLists(blocks), outbox)
    practice, provider, client_id = new_id(), new_id(), new_id()
    await projection.record(record(client_id, practice))
    await lists.block(provider, practice, [client_id])

    await projection.record(record(client_id, practice, last_name="Lovelace"))

    (entry,) = await lists.page(provider, practice, "lovelace", after=None, limit=10)
    assert (entry.client_id, entry.last_name) == (client_id, "Lovelace")
    assert await lists.page(provider, practice, "hopper", after=None, limit=10) == []
