"""Small sets read and written by `_id`: an owner's members, per Kafka partition, on pages.

A *roster* holds one owner's members that arrive on one partition of a topic keyed by
member (a practice's clients, a provider's blocked clients). Its entries, small documents
each with an `id`, sit on *pages* of up to `PAGE_SIZE` (`<owner>:p<partition>:<n>`), and
its *head* (`<owner>:p<partition>`) holds the number of pages. Only the consumer that owns
the partition writes that partition's rosters, so read-modify-write is safe without atomic
updates, and reading all of an owner's members costs the owner's pages, whatever else the
collections hold.

A batch is saved pages first, then the heads of rosters that gained a page: a crash
between them leaves a page no head counts yet, which the redelivered batch writes again.
Putting and removing an entry are idempotent, so a redelivered batch changes nothing more.
"""

from collections.abc import Iterable
from typing import Any

from shared.mongo import find_each, update_each

# Entries per page: a page is a bounded document (~100 bytes an entry).
PAGE_SIZE = 1000

Entry = dict[str, Any]


def roster_id(owner: str, partition: int) -> str:
    """The head of an owner's roster in one partition (its pages are `<head>:<n>`)."""
    return f"{owner}:p{partition}"


def page_id(roster: str, page: int) -> str:
    """One page of a roster."""
    return f"{roster}:{page}"


def _entries(page: dict[str, Any] | None) -> list[Entry]:
    """A page's entries; announcements' rosters once held bare ids (`ids`)."""
    if page is None:
        return []
    if "entries" in page:
        return list(page["entries"])
    return [{"id": i} for i in page.get("ids", ())]


class Rosters:
    """Rosters of one kind: a collection of heads and one of pages."""

    def __init__(
        self, heads: Any, pages: Any, *, partitions: int, page_size: int = PAGE_SIZE
    ) -> None:
        self._heads = heads
        self._pages = pages
        self._partitions = partitions
        self._page_size = page_size

    def observe_partitions(self, count: int) -> None:
        """The topic has (at least) this many partitions: read their rosters too."""
        self._partitions = max(self._partitions, count)

    async def entries(self, owner: str) -> list[Entry]:
        """Every entry of the owner's rosters, in all partitions (in no particular order)."""
        loaded = await self.load(roster_id(owner, p) for p in range(self._partitions))
        return [entry for roster in loaded.values() for page in roster.pages for entry in page]

    async def load(self, roster_ids: Iterable[str]) -> dict[str, "Roster"]:
        """These rosters with every page they have, to change and `save`."""
        order = sorted(set(roster_ids))
        heads = await find_each(self._heads, order)
        counts = {r: head["pages"] if head else 0 for r, head in zip(order, heads, strict=True)}
        wanted = [page_id(r, n) for r in order for n in range(counts[r])]
        found = {
            page: _entries(doc)
            for page, doc in zip(wanted, await find_each(self._pages, wanted), strict=True)
        }
        return {
            r: Roster(r, [found[page_id(r, n)] for n in range(counts[r])], self._page_size)
            for r in order
        }

    async def save(self, rosters: Iterable["Roster"]) -> None:
        """Write the changed pages, then the heads of rosters that gained pages."""
        changed = list(rosters)
        await update_each(
            self._pages,
            [
                (
                    {"_id": page_id(r.id, n)},
                    {"$set": {"entries": r.pages[n]}, "$unset": {"ids": ""}},
                )
                for r in changed
                for n in sorted(r.changed)
            ],
            upsert=True,
        )
        await update_each(
            self._heads,
            [({"_id": r.id}, {"$set": {"pages": len(r.pages)}}) for r in changed if r.grew],
            upsert=True,
        )


class Roster:
    """One roster's pages in memory while a batch is applied to it."""

    def __init__(self, roster: str, pages: list[list[Entry]], page_size: int) -> None:
        self.id = roster
        self.pages = pages
        self.changed: set[int] = set()
        self.grew = False
        self._page_size = page_size
        # Where each member is: a batch of changes is not a scan of every page each.
        self._at = {e["id"]: (n, i) for n, page in enumerate(pages) for i, e in enumerate(page)}

    def __contains__(self, member_id: object) -> bool:
        return member_id in self._at

    def put(self, entry: Entry) -> None:
        """List a member, or replace its entry where it is (nothing if unchanged)."""
        if entry["id"] in self._at:
            n, i = self._at[entry["id"]]
            if self.pages[n][i] != entry:
                self.pages[n][i] = entry
                self.changed.add(n)
            return
        # The first page with room: places freed by removals are taken again, so a roster
        # has as many pages as its members need, not as its history of changes.
        n = next((n for n, page in enumerate(self.pages) if len(page) < self._page_size), -1)
        if n < 0:
            self.pages.append([])
            self.grew = True
            n = len(self.pages) - 1
        self._at[entry["id"]] = (n, len(self.pages[n]))
        self.pages[n].append(entry)
        self.changed.add(n)

    def remove(self, member_id: str) -> None:
        """Take a member off (nothing if it is not listed)."""
        if member_id not in self._at:
            return
        n, _ = self._at.pop(member_id)
        self.pages[n] = [e for e in self.pages[n] if e["id"] != member_id]
        self._at.update({e["id"]: (n, i) for i, e in enumerate(self.pages[n])})
        self.changed.add(n)
