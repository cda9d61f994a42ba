"""Unit tests of recipient resolution with an in-memory client projection (no infrastructure)."""

import pytest

from services.announcements import handlers
from services.announcements.domain import (
    NoRecipients,
    Recipients,
    TooManyRecipients,
    UnknownRecipients,
)


class FakeClients:
    """An in-memory stand-in for the client projection."""

    def __init__(self, clients: dict[str, tuple[str, str]]) -> None:
        self.clients = clients  # client_id -> (practice_id, status)

    async def known(self, practice_id: str, client_ids: tuple[str, ...]) -> set[str]:
        return {c for c in client_ids if self.clients.get(c, ("", ""))[0] == practice_id}

    async def count_active(self, practice_id: str) -> int:
        return len(await self.active_ids(practice_id))

    async def active_ids(self, practice_id: str) -> tuple[str, ...]:
        return tuple(sorted(c for c, v in self.clients.items() if v == (practice_id, "active")))


CLIENTS = FakeClients(
    {
        "a": ("pr1", "active"),
        "b": ("pr1", "active"),
        "gone": ("pr1", "inactive"),
        "other": ("pr2", "active"),
    }
)


async def resolve(recipients: Recipients, max_recipients: int = 10) -> tuple[str, ...]:
    return await handlers.resolve_recipients(
        "pr1",
        recipients,
        clients=CLIENTS,  # type: ignore[arg-type]
        max_recipients=max_recipients,
    )


async def test_all_clients_are_the_active_ones() -> None:
    assert await resolve(Recipients(all_clients=True)) == ("a", "b")


async def test_chosen_clients_are_deduplicated_in_order() -> None:
    assert await resolve(Recipients(client_ids=("b", "a", "b"))) == ("b", "a")


async def test_another_practices_client_is_unknown() -> None:
    with pytest.raises(UnknownRecipients):
        await resolve(Recipients(client_ids=("a", "other")))


async def test_no_recipients_is_refused() -> None:
    with pytest.raises(NoRecipients):
        await resolve(Recipients(client_ids=()))


async def test_more_than_the_maximum_is_refused_before_any_lookup() -> None:
    with pytest.raises(TooManyRecipients):
        await resolve(Recipients(client_ids=("x", "y", "z")), max_recipients=2)


async def test_all_clients_above_the_maximum_is_refused() -> None:
    with pytest.raises(TooManyRecipients):
        await resolve(Recipients(all_clients=True), max_recipients=1)
