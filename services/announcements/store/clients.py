"""The client projection: who is a client of which practice, from `practice.clients.v1`.

Every read and write is by `_id` (the one lookup the development server, FerretDB,
serves from an index), so resolving a practice's recipients costs the same whatever the
directory holds:

- one *client* document per client id: its practice, status, and the roster that lists
  it while it is active;
- the practice's active clients on its *rosters* (`shared.rosters`), one per Kafka
  partition of the topic. The topic is keyed by client id, so a client's records all
  arrive on one partition, and only the consumer that owns the partition writes that
  partition's rosters: read-modify-write is safe without atomic updates.

A batch of records is applied in three idempotent steps: the rosters' changed pages
(clients listed, clients taken off), the heads of rosters that gained a page, then the
client documents. A crash between them is finished by the redelivered batch, which starts
again from the unchanged client documents: a client is listed only if no page of its
roster lists it already, and taken off a page only if it is there.
"""

from typing import Any, cast

from shared.events.clients import ClientRecordChanged
from shared.mongo import find_each, update_each
from shared.rosters import PAGE_SIZE, Rosters, page_id, roster_id

__all__ = ["ClientProjection", "page_id", "roster_id"]


def _roster_of(doc: dict[str, Any] | None) -> str | None:
    """The roster that lists a client, as its document records it (earlier versions
    recorded the page: the roster is the page's id without its number)."""
    if doc is None:
        return None
    if "roster" in doc:
        return cast(str | None, doc["roster"])
    page = doc.get("roster_page")
    return page.rsplit(":", 1)[0] if page else None


class ClientProjection:
    """The local projection of `practice.clients.v1`: who is a client of which practice."""

    def __init__(self, db: Any, *, partitions: int, page_size: int = PAGE_SIZE) -> None:
        self._clients = db["clients"]
        self._rosters = Rosters(
            db["client_rosters"],
            db["client_roster_pages"],
            partitions=partitions,
            page_size=page_size,
        )

    async def ensure_indexes(self) -> None:
        """Nothing: every collection here is read and written by `_id` only."""

    def observe_partitions(self, count: int) -> None:
        """The topic has (at least) this many partitions: read their rosters too."""
        self._rosters.observe_partitions(count)

    async def apply(self, records: list[tuple[ClientRecordChanged, int]]) -> None:
        """Store the latest record of each client in a batch, each with the partition it
        came from (replaying a batch changes nothing)."""
        latest = {record.client_id: (record, partition) for record, partition in records}
        if not latest:
            return
        self.observe_partitions(max(partition for _, partition in latest.values()) + 1)
        ids = list(latest)
        listed = {
            i: _roster_of(doc)
            for i, doc in zip(ids, await find_each(self._clients, ids), strict=True)
        }
        wanted = {
            i: roster_id(record.practice_id, partition) if record.status == "active" else None
            for i, (record, partition) in latest.items()
        }
        rosters = await self._rosters.load(
            {r for r in wanted.values() if r} | {r for r in listed.values() if r}
        )
        for i in ids:
            was, now = listed[i], wanted[i]
            if was is not None and was != now:
                rosters[was].remove(i)
            if now is not None:
                rosters[now].put({"id": i})
        await self._rosters.save(rosters.values())
        await self._write_clients(latest, wanted)

    async def _write_clients(
        self, latest: dict[str, tuple[ClientRecordChanged, int]], rosters: dict[str, str | None]
    ) -> None:
        """The client documents, last: until they are written a redelivery starts over."""
        await update_each(
            self._clients,
            [
                (
                    {"_id": i},
                    {
                        "$set": {
                            "practice_id": record.practice_id,
                            "status": record.status,
                            "roster": rosters[i],
                            "source_event_id": str(record.event_id),
                        },
                        "$unset": {"roster_page": ""},  # what earlier versions recorded
                    },
                )
                for i, (record, _) in latest.items()
            ],
            upsert=True,
        )

    async def known(self, practice_id: str, client_ids: tuple[str, ...]) -> set[str]:
        """Those of the ids that are clients of the practice (any status)."""
        unique = list(dict.fromkeys(client_ids))
        docs = await find_each(self._clients, unique)
        return {
            i
            for i, doc in zip(unique, docs, strict=True)
            if doc and doc["practice_id"] == practice_id
        }

    async def count_active(self, practice_id: str) -> int:
        """How many active clients the practice has."""
        return len(await self.active_ids(practice_id))

    async def active_ids(self, practice_id: str) -> tuple[str, ...]:
        """The ids of the practice's active clients, in id order."""
        return tuple(sorted({e["id"] for e in await self._rosters.entries(practice_id)}))
