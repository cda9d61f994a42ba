"""The client projection: who is a client of which practice, from `practice.clients.v1`.

Every read and write is by `_id` (the one lookup the development server, FerretDB,
serves from an index), so resolving a practice's recipients costs the same whatever the
directory holds:

- one *client* document per client id: its practice, status, and the roster page that
  lists it while it is active;
- the practice's active clients on *roster pages* of up to `PAGE_SIZE` ids, per
  (practice, Kafka partition of the topic), numbered from 0, with a *head* per
  (practice, partition) holding the number of pages. The topic is keyed by client id,
  so a client's records all arrive on one partition, and only the consumer that owns
  the partition writes that partition's head and pages: read-modify-write is safe
  without atomic updates.

A batch of records is applied in three idempotent steps: the rosters' changed pages
(clients listed, clients taken off), the heads of rosters that gained a page, then the
client documents. A crash between them is finished by the redelivered batch, which starts
again from the unchanged client documents: a client is listed only if no page of its
roster lists it already, and taken off a page only if it is there.
"""

from collections.abc import Iterable
from typing import Any

from shared.events.clients import ClientRecordChanged
from shared.mongo import find_each, update_each

# Active client ids per roster page (a page is a bounded document: at most ~200 KB).
PAGE_SIZE = 1000


def roster_id(practice_id: str, partition: int) -> str:
    """The head of a practice's roster in one partition (its pages are `<head>:<n>`)."""
    return f"{practice_id}:p{partition}"


def page_id(roster: str, page: int) -> str:
    """One page of a roster."""
    return f"{roster}:{page}"


class ClientProjection:
    """The local projection of `practice.clients.v1`: who is a client of which practice."""

    def __init__(self, db: Any, *, partitions: int, page_size: int = PAGE_SIZE) -> None:
        self._clients = db["clients"]
        self._heads = db["client_rosters"]
        self._pages = db["client_roster_pages"]
        self._partitions = partitions
        self._page_size = page_size

    async def ensure_indexes(self) -> None:
        """Nothing: every collection here is read and written by `_id` only."""

    def observe_partitions(self, count: int) -> None:
        """The topic has (at least) this many partitions: read their rosters too."""
        self._partitions = max(self._partitions, count)

    async def apply(self, records: list[tuple[ClientRecordChanged, int]]) -> None:
        """Store the latest record of each client in a batch, each with the partition it
        came from (replaying a batch changes nothing)."""
        latest = {record.client_id: (record, partition) for record, partition in records}
        if not latest:
            return
        self.observe_partitions(max(partition for _, partition in latest.values()) + 1)
        ids = list(latest)
        docs = await find_each(self._clients, ids)
        listed = {
            i: doc.get("roster_page") if doc else None for i, doc in zip(ids, docs, strict=True)
        }
        wanted = {
            i: roster_id(record.practice_id, partition) if record.status == "active" else None
            for i, (record, partition) in latest.items()
        }
        touched = {r for r in wanted.values() if r} | {_roster_of(p) for p in listed.values() if p}
        rosters = await self._load(touched)
        pages: dict[str, str | None] = {}
        for i in ids:
            was, roster = listed[i], wanted[i]
            stays = was is not None and roster is not None and _roster_of(was) == roster
            pages[i] = was if stays else rosters[roster].add(i) if roster else None
            if was is not None and was != pages[i]:
                rosters[_roster_of(was)].remove(i, was)
        await self._save(rosters.values())
        await self._write_clients(latest, pages)

    async def _write_clients(
        self, latest: dict[str, tuple[ClientRecordChanged, int]], pages: dict[str, str | None]
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
                            "roster_page": pages[i],
                            "source_event_id": str(record.event_id),
                        }
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
        rosters = [roster_id(practice_id, p) for p in range(self._partitions)]
        heads = await find_each(self._heads, rosters)
        pages = [
            page_id(roster, n)
            for roster, head in zip(rosters, heads, strict=True)
            if head is not None
            for n in range(head["pages"])
        ]
        found: set[str] = set()
        for page in await find_each(self._pages, pages):
            found.update(page["ids"] if page else ())
        return tuple(sorted(found))

    async def _load(self, roster_ids: set[str]) -> dict[str, "_Roster"]:
        """The rosters with every page they have (a practice's pages, not its history)."""
        order = sorted(roster_ids)
        heads = await find_each(self._heads, order)
        counts = {r: head["pages"] if head else 0 for r, head in zip(order, heads, strict=True)}
        wanted = [page_id(r, n) for r in order for n in range(counts[r])]
        found = {
            page: list(doc["ids"]) if doc else []
            for page, doc in zip(wanted, await find_each(self._pages, wanted), strict=True)
        }
        return {
            r: _Roster(r, [found[page_id(r, n)] for n in range(counts[r])], self._page_size)
            for r in order
        }

    async def _save(self, rosters: Iterable["_Roster"]) -> None:
        """Write the changed pages, then the heads that gained pages."""
        await update_each(
            self._pages,
            [
                ({"_id": page_id(r.id, n)}, {"$set": {"ids": r.pages[n]}})
                for r in rosters
                for n in sorted(r.changed)
            ],
            upsert=True,
        )
        await update_each(
            self._heads,
            [({"_id": r.id}, {"$set": {"pages": len(r.pages)}}) for r in rosters if r.grew],
            upsert=True,
        )


def _roster_of(page: str) -> str:
    """The roster a page belongs to."""
    return page.rsplit(":", 1)[0]


class _Roster:
    """One roster's pages in memory while a batch is applied to it."""

    def __init__(self, roster: str, pages: list[list[str]], page_size: int) -> None:
        self.id = roster
        self.pages = pages
        self.changed: set[int] = set()
        self.grew = False
        self._page_size = page_size
        # Which page lists each client: a batch of adds is not a scan of every page each.
        self._page_of = {c: n for n, ids in enumerate(pages) for c in ids}

    def add(self, client_id: str) -> str:
        """List a client (once: an earlier delivery of its record may have); its page."""
        if client_id in self._page_of:
            return page_id(self.id, self._page_of[client_id])
        if not self.pages or len(self.pages[-1]) >= self._page_size:
            self.pages.append([])
            self.grew = True
        n = len(self.pages) - 1
        self.pages[n].append(client_id)
        self._page_of[client_id] = n
        self.changed.add(n)
        return page_id(self.id, n)

    def remove(self, client_id: str, page: str) -> None:
        """Take a client off one of the pages (nothing if it is not there)."""
        n = int(page.rsplit(":", 1)[1])
        if self._page_of.get(client_id) == n:
            self.pages[n].remove(client_id)
            del self._page_of[client_id]
            self.changed.add(n)
