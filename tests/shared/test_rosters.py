"""Rosters: an owner's members per partition, on pages read and written by `_id`."""

from typing import Any

from shared.rosters import Rosters, page_id, roster_id


def rosters(db: Any, *, page_size: int = 3) -> Rosters:
    return Rosters(db["heads"], db["pages"], partitions=2, page_size=page_size)


async def put_all(store: Rosters, owner: str, partition: int, ids: list[str]) -> None:
    roster = roster_id(owner, partition)
    loaded = await store.load([roster])
    for i in ids:
        loaded[roster].put({"id": i, "name": i.upper()})
    await store.save(loaded.values())


async def test_members_fill_pages_and_are_read_back_from_every_partition(db: Any) -> None:
    store = rosters(db)
    await put_all(store, "pr-1", 0, ["a", "b", "c", "d"])
    await put_all(store, "pr-1", 1, ["e"])
    await put_all(store, "pr-2", 0, ["x"])

    found = await store.entries("pr-1")

    assert sorted(e["id"] for e in found) == ["a", "b", "c", "d", "e"]
    assert (await db["heads"].find_one({"_id": roster_id("pr-1", 0)}))["pages"] == 2
    page = await db["pages"].find_one({"_id": page_id(roster_id("pr-1", 0), 1)})
    assert [e["id"] for e in page["entries"]] == ["d"]


async def test_putting_again_changes_nothing_and_a_changed_entry_replaces_its_own(
    db: Any,
) -> None:
    store = rosters(db)
    await put_all(store, "pr-1", 0, ["a", "b"])
    await put_all(store, "pr-1", 0, ["a", "b"])  # a redelivered batch
    roster = roster_id("pr-1", 0)
    loaded = await store.load([roster])
    loaded[roster].put({"id": "a", "name": "Renamed"})
    unchanged = loaded[roster].changed.copy()
    await store.save(loaded.values())

    found = {e["id"]: e["name"] for e in await store.entries("pr-1")}

    assert found == {"a": "Renamed", "b": "B"}
    assert unchanged == {0}


async def test_a_removed_members_place_is_taken_again(db: Any) -> None:
    store = rosters(db)
    await put_all(store, "pr-1", 0, ["a", "b", "c"])
    roster = roster_id("pr-1", 0)
    loaded = await store.load([roster])
    loaded[roster].remove("b")
    loaded[roster].remove("not-listed")
    loaded[roster].put({"id": "d", "name": "D"})
    await store.save(loaded.values())

    again = (await store.load([roster]))[roster]

    assert [[e["id"] for e in page] for page in again.pages] == [["a", "c", "d"]]
    assert "b" not in again and "d" in again


async def test_a_page_written_without_its_head_is_written_again_by_the_redelivery(
    db: Any,
) -> None:
    store = rosters(db)
    await put_all(store, "pr-1", 0, ["a", "b", "c"])
    roster = roster_id("pr-1", 0)
    # A crash after the new page was written and before the head counted it.
    await db["pages"].insert_one({"_id": page_id(roster, 1), "entries": [{"id": "stale"}]})

    await put_all(store, "pr-1", 0, ["d"])

    assert sorted(e["id"] for e in await store.entries("pr-1")) == ["a", "b", "c", "d"]
