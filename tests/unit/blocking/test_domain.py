"""The blocking domain's rules and the events a pair's revision derives."""

import pytest

from services.blocking.domain import (
    Block,
    BlockRequest,
    Client,
    ClientNotFound,
    block_id,
    normalize_query,
)
from services.blocking.events import block_events
from shared.clock import utcnow
from shared.events.blocks import BlockChanged
from shared.ids import stable_uuid


def client(client_id: str = "c1", first: str = "Grace", last: str = "Hopper") -> Client:
    return Client(client_id, "pr1", first, last, True)


def block(*, blocked: bool = True, rev: str = "rev-1") -> Block:
    return Block("p1", "c1", "pr1", blocked, rev, utcnow())


def test_a_request_asks_for_each_client_once_in_the_order_first_given() -> None:
    assert BlockRequest.of(["b", "a", "b", "c", "a"]).client_ids == ("b", "a", "c")


def test_a_request_takes_its_clients_in_the_order_asked() -> None:
    a, b = client("a"), client("b")

    assert BlockRequest.of(["b", "a"]).clients([a, b]) == [b, a]


def test_a_request_with_any_client_not_found_is_refused_whole() -> None:
    with pytest.raises(ClientNotFound):
        BlockRequest.of(["a", "b"]).clients([client("a")])


def test_a_request_newly_blocks_only_those_not_blocked_already() -> None:
    a, b, c = client("a"), client("b"), client("c")

    assert BlockRequest.of(["a", "b", "c"]).to_block([a, b, c], {"b"}) == [a, c]


def test_a_pair_belongs_to_its_own_practice_only() -> None:
    assert block().belongs_to("pr1")
    assert not block().belongs_to("pr2")


def test_a_pairs_id_is_provider_and_client() -> None:
    assert block().id == block_id("p1", "c1") == "p1:c1"


def test_a_name_query_is_lower_case_with_single_spaces() -> None:
    assert normalize_query("  GRACE   Hopper ") == "grace hopper"


def test_a_blank_or_missing_query_matches_everything() -> None:
    assert normalize_query("   ") is None
    assert normalize_query(None) is None


def test_a_revision_derives_one_block_changed_with_an_id_stable_per_revision() -> None:
    (event,) = block_events(block(blocked=False))

    assert isinstance(event, BlockChanged)
    assert event.event_id == stable_uuid("p1:c1", "rev-1", "block")
    assert (event.practice_id, event.provider_id, event.client_id, event.blocked) == (
        "pr1",
        "p1",
        "c1",
        False,
    )
    assert event.key() == "p1:c1"


def test_each_revision_derives_a_new_event_id() -> None:
    (first,) = block_events(block())
    (again,) = block_events(block())
    (later,) = block_events(block(rev="rev-2"))

    assert first.event_id == again.event_id != later.event_id
