"""The local projection of the practice client directory, read and written by `_id`.

One *client* document per client id answers "is this a client of the practice" with one
read. A practice's clients are also listed, with their names, on the practice's rosters
(`shared.rosters`, one per partition of `practice.clients.v1`), which the search reads
whole: a practice's clients, whatever the other practices hold.

A batch of records is applied rosters first, then the client documents: a crash between
them is finished by the redelivered batch, which starts again from the unchanged client
documents (and putting a client on a roster twice changes nothing).
"""

from typing import Any

from services.threads.domain import Client
from shared.events.clients import ClientRecordChanged
from shared.mongo import drop_index, find_by_id, find_each, update_each
from shared.rosters import Entry, Rosters, roster_id


def _client(doc: dict[str, Any]) -> Client:
    return Client(
        client_id=doc["_id"],
        practice_id=doc["practice_id"],
        first_name=doc["first_name"],
        last_name=doc["last_name"],
        active=doc["status"] == "active",
    )


def _entry(record: ClientRecordChanged) -> Entry:
    """What the practice's roster shows of a client: enough to search and list them."""
    return {
        "id": record.client_id,
        "first_name": record.first_name,
        "last_name": record.last_name,
        "active": record.status == "active",
    }


def _renamed(before: dict[str, Any] | None, record: ClientRecordChanged) -> bool:
    return before is not None and (before.get("first_name"), before.get("last_name")) != (
        record.first_name,
        record.last_name,
    )


class ClientDirectory:
    """The local projection of `practice.clients.v1`."""

    def __init__(self, db: Any, *, partitions: int) -> None:
        self._clients = db["clients"]
        self._rosters = Rosters(
            db["client_rosters"], db["client_roster_pages"], partitions=partitions
        )

    async def ensure_indexes(self) -> None:
        """None: every read is by `_id`. The index the search used to query goes."""
        await drop_index(self._clients, "practice_sort")

    async def apply(self, records: list[tuple[ClientRecordChanged, int]]) -> list[str]:
        """Store the latest record of each client in a batch, each with the partition it
        came from; the ids of known clients whose name changed (replaying changes nothing)."""
        latest = {record.client_id: (record, partition) for record, partition in records}
        if not latest:
            return []
        self._rosters.observe_partitions(max(p for _, p in latest.values()) + 1)
        ids = list(latest)
        before = dict(zip(ids, await find_each(self._clients, ids), strict=True))
        # Clients whose record names another practice than before: off its roster.
        moved = {
            i: doc["practice_id"]
            for i, doc in before.items()
            if doc and doc.get("practice_id") not in (None, latest[i][0].practice_id)
        }
        rosters = await self._rosters.load(
            {roster_id(record.practice_id, p) for record, p in latest.values()}
            | {roster_id(p, latest[i][1]) for i, p in moved.items()}
        )
        for i, (record, partition) in latest.items():
            if i in moved:
                rosters[roster_id(moved[i], partition)].remove(i)
            rosters[roster_id(record.practice_id, partition)].put(_entry(record))
        await self._rosters.save(rosters.values())
        await update_each(
            self._clients,
            [
                (
                    {"_id": i},
                    {
                        "$set": {
                            "practice_id": record.practice_id,
                            "first_name": record.first_name,
                            "last_name": record.last_name,
                            "status": record.status,
                            "source_event_id": str(record.event_id),
                        },
                        # Fields earlier versions kept (threads never reads an email; the
                        # search reads the rosters) go on the client's next record.
                        "$unset": {"email": "", "search": "", "sort_key": ""},
                    },
                )
                for i, (record, _) in latest.items()
            ],
            upsert=True,
        )
        return [i for i, (record, _) in latest.items() if _renamed(before[i], record)]

    async def get(self, practice_id: str, client_id: str) -> Client | None:
        """A client of the given practice, or None (other practices' clients do not exist)."""
        doc = await find_by_id(self._clients, client_id, practice_id=practice_id)
        return _client(doc) if doc else None

    async def search(
        self, practice_id: str, query: str | None, *, after: str | None, limit: int
    ) -> list[Client]:
        """Clients whose "first last" name contains the query, case-insensitively, by name."""
        wanted = " ".join(query.lower().split()) if query else ""
        found = [
            client
            for client in (
                Client(e["id"], practice_id, e["first_name"], e["last_name"], e["active"])
                for e in await self._rosters.entries(practice_id)
            )
            if wanted in client.full_name.lower() and (after is None or client.sort_key > after)
        ]
        return sorted(found, key=lambda c: c.sort_key)[:limit]
