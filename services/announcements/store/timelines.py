"""Newest-first lists of announcements kept by `_id`: a *timeline* per owner.

The development server (FerretDB) serves only `{_id: ...}` from an index, so a list that
filters and sorts the announcements reads every one ever stored. Instead each owner (a
practice, or an author within a practice) has, per Kafka partition of
`messaging.announcements.v1`, an append-only timeline of entries `{id, k}` (announcement id,
sort key) on *pages* of up to `PAGE_SIZE` entries, and a *head* listing each page's smallest
and largest sort key. A reader finds the pages that can hold what it wants from the heads
and reads only those, so a page of a list costs the same whatever else is stored.

Only the consumer that owns a partition writes that partition's heads and pages, so
read-modify-write is safe without atomic updates. A batch is applied as: the touched pages
(the last page of each timeline, and those whose range holds an incoming key, so an entry a
redelivery brings again is found and skipped), then the heads. A crash between them leaves
at most pages past a head's count, which the redelivered batch writes anew.
"""

import contextlib
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from shared.ids import stable_uuid
from shared.mongo import find_each, update_each

# Entries per page (a page is a bounded document: ~500 x 150 bytes).
PAGE_SIZE = 500
# Entries one list request inspects at most, per item asked and in all: a client whom few
# of a busy practice's announcements address gets a short page and a cursor.
SCAN_PER_ITEM = 10
MAX_SCAN = 500


@dataclass(frozen=True)
class Entry:
    """One announcement on a timeline; `where` locates its recipient buckets."""

    id: str
    k: str
    where: tuple[str, int] | None = None


@dataclass(frozen=True)
class Posting:
    """An entry to append to one owner's timeline in one partition."""

    owner: str
    partition: int
    entry: Entry


def practice_owner(practice_id: str) -> str:
    """The timeline of every announcement of a practice."""
    return f"practice:{practice_id}"


def author_owner(practice_id: str, author_id: str) -> str:
    """The timeline of one author's announcements in one practice (a digest of the pair,
    so no choice of ids makes two pairs share one)."""
    return f"author:{stable_uuid('timeline', practice_id, author_id)}"


def head_id(owner: str, partition: int) -> str:
    """The head of an owner's timeline in one partition (its pages are `<head>:<n>`)."""
    return f"{owner}:p{partition}"


def page_id(head: str, page: int) -> str:
    """One page of a timeline."""
    return f"{head}:{page}"


class Timelines:
    """Owners' timelines of announcements, written by the consumer of their events."""

    def __init__(self, db: Any, *, partitions: int, page_size: int = PAGE_SIZE) -> None:
        self._heads = db["timeline_heads"]
        self._pages = db["timeline_pages"]
        self._partitions = partitions
        self._page_size = page_size

    async def ensure_indexes(self) -> None:
        """Nothing: every collection here is read and written by `_id` only."""

    def observe_partitions(self, count: int) -> None:
        """The topic has (at least) this many partitions: read their timelines too."""
        self._partitions = max(self._partitions, count)

    async def append(self, postings: list[Posting]) -> None:
        """Add each entry to its timeline once (replaying a batch adds nothing)."""
        if not postings:
            return
        self.observe_partitions(max(p.partition for p in postings) + 1)
        wanted: dict[str, list[Entry]] = {}
        for p in postings:
            wanted.setdefault(head_id(p.owner, p.partition), []).append(p.entry)
        timelines = await self._load(wanted)
        for head, entries in wanted.items():
            for entry in entries:
                timelines[head].add(entry)
        await update_each(
            self._pages,
            [
                ({"_id": page_id(t.id, n)}, {"$set": {"entries": t.stored(n)}})
                for t in timelines.values()
                for n in sorted(t.changed)
            ],
            upsert=True,
        )
        await update_each(
            self._heads,
            [
                ({"_id": t.id}, {"$set": {"bounds": t.head()}})
                for t in timelines.values()
                if t.changed
            ],
            upsert=True,
        )

    async def _load(self, wanted: dict[str, list[Entry]]) -> dict[str, "_Timeline"]:
        """The timelines with the pages an incoming entry may already be on."""
        order = sorted(wanted)
        heads = await find_each(self._heads, order)
        bounds = {
            h: [(b["lo"], b["hi"]) for b in doc["bounds"]] if doc else []
            for h, doc in zip(order, heads, strict=True)
        }
        needed = {h: _pages_holding(bounds[h], [e.k for e in wanted[h]]) for h in order}
        ids = [page_id(h, n) for h in order for n in needed[h]]
        docs = dict(zip(ids, await find_each(self._pages, ids), strict=True))
        return {
            h: _Timeline(
                h,
                bounds[h],
                {n: _entries(docs[page_id(h, n)]) for n in needed[h]},
                self._page_size,
            )
            for h in order
        }

    async def scan(
        self,
        owner: str,
        *,
        after: str | None,
        limit: int,
        keep: Callable[[list[Entry]], Awaitable[list[Entry]]] | None,
    ) -> tuple[list[Entry], str | None]:
        """Up to `limit` of the owner's entries below `after` that `keep` keeps (all if
        None), newest first, and the key the next page starts after (None at the end).

        The entries looked at are bounded (`SCAN_PER_ITEM`, `MAX_SCAN`): a page cut short
        there ends at the last one looked at, so a page may be short yet not the last.
        """
        budget = min(SCAN_PER_ITEM * limit, MAX_SCAN)
        kept: list[Entry] = []
        inspected, last = 0, None
        async with contextlib.aclosing(self.newest(owner, before=after)) as stream:
            while len(kept) <= limit:
                if inspected >= budget:
                    return kept, last
                # One more than the page wants first, then twice as many each time.
                size = min(budget - inspected, max(limit + 1 - len(kept), inspected))
                chunk = await _take(stream, size)
                if not chunk:
                    return kept, None
                inspected, last = inspected + len(chunk), chunk[-1].k
                kept += await keep(chunk) if keep else chunk
        return kept[:limit], kept[limit - 1].k

    async def newest(self, owner: str, *, before: str | None) -> AsyncGenerator[Entry, None]:
        """The owner's entries with keys below `before` (all if None), newest first.

        Pages are read lazily, the one with the largest key first: an entry is yielded
        once no unread page can hold a larger key.
        """
        heads = [head_id(owner, p) for p in range(self._partitions)]
        pending = sorted(
            (
                (b["hi"], page_id(h, n))
                for h, doc in zip(heads, await find_each(self._heads, heads), strict=True)
                if doc is not None
                for n, b in enumerate(doc["bounds"])
                if before is None or b["lo"] < before
            ),
            reverse=True,
        )
        ready: list[Entry] = []  # loaded and not yet yielded, largest key last
        seen: set[str] = set()
        while ready or pending:
            if ready and (not pending or ready[-1].k >= pending[0][0]):
                entry = ready.pop()
                if entry.id not in seen:
                    seen.add(entry.id)
                    yield entry
                continue
            # As many pages as partitions: the newest page of each, for a first page.
            batch, pending = pending[: self._partitions], pending[self._partitions :]
            for doc in await find_each(self._pages, [p for _, p in batch]):
                ready.extend(e for e in _entries(doc) if before is None or e.k < before)
            ready.sort(key=lambda e: e.k)


async def _take(stream: AsyncIterator[Entry], count: int) -> list[Entry]:
    """The next `count` entries of a stream (fewer at its end)."""
    taken: list[Entry] = []
    async for entry in stream:
        taken.append(entry)
        if len(taken) == count:
            break
    return taken


def _pages_holding(bounds: list[tuple[str, str]], keys: Iterable[str]) -> list[int]:
    """The pages an entry with one of these keys may be on: the last one (a head written
    before a crash may not cover it yet) and those whose range holds a key."""
    keys = list(keys)
    last = len(bounds) - 1
    return [n for n, (lo, hi) in enumerate(bounds) if n == last or any(lo <= k <= hi for k in keys)]


def _entries(doc: dict[str, Any] | None) -> list[Entry]:
    if doc is None:
        return []
    return [Entry(e["id"], e["k"], (e["d"], e["b"]) if "d" in e else None) for e in doc["entries"]]


@dataclass
class _Timeline:
    """One timeline while a batch is applied: its page bounds and the pages loaded."""

    id: str
    bounds: list[tuple[str, str]]
    pages: dict[int, list[Entry]]
    page_size: int
    changed: set[int] = field(default_factory=set)

    def __post_init__(self) -> None:
        self._listed = {e.id for entries in self.pages.values() for e in entries}

    def add(self, entry: Entry) -> None:
        """Append an entry unless a loaded page (or this batch) has it already."""
        if entry.id in self._listed:
            return
        last = len(self.bounds) - 1
        if last < 0 or len(self.pages.get(last, ())) >= self.page_size:
            last += 1
            self.bounds.append((entry.k, entry.k))
            self.pages[last] = []  # whatever a crashed apply left here is written over
        self.pages[last].append(entry)
        self._listed.add(entry.id)
        self.changed.add(last)

    def head(self) -> list[dict[str, str]]:
        """Each page's smallest and largest key, those of changed pages taken from their
        entries (a head a crash left behind may not cover them all)."""
        for n in self.changed:
            keys = [e.k for e in self.pages[n]]
            self.bounds[n] = (min(keys), max(keys))
        return [{"lo": lo, "hi": hi} for lo, hi in self.bounds]  # no nested arrays in FerretDB

    def stored(self, page: int) -> list[dict[str, Any]]:
        """A page's entries as stored."""
        return [
            {"id": e.id, "k": e.k, **({"d": e.where[0], "b": e.where[1]} if e.where else {})}
            for e in self.pages[page]
        ]
