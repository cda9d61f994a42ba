"""Announcements with their resolved recipients; texts sealed at rest.

An announcement's `_id` derives from its author's idempotency key, so a repeat is found by
`_id` and a concurrent duplicate is turned away by the `_id` index. Its recipients are
stored by bucket only (`BUCKET_SIZE` ids each on average, by a stable hash of the id), so
whether a client is one of them is one read by `_id`, and reading the announcement never
decodes its recipient list (announcements stored before kept theirs in the document).
The lists by author and by recipient walk the timelines (`timelines.py`) the consumer of
the announcements' own events keeps, and read what they find by `_id`: a list is
eventually consistent, a few ms behind a send.
"""

import hashlib
import math
import zlib
from typing import Any

from pymongo.errors import BulkWriteError

from services.announcements.domain import (
    Announcement,
    Draft,
    Page,
    Publication,
    Receipt,
    announcement_id_for,
    sort_key,
)
from services.announcements.store.timelines import (
    Entry,
    Posting,
    Timelines,
    author_owner,
    practice_owner,
)
from shared.clock import utcnow
from shared.crypto import EnvelopeCipher
from shared.mongo import DUPLICATE_KEY, DuplicateKeyError, drop_index, find_each
from shared.outbox import new_revision

# Recipients per bucket, on average: whether a client is one is a read of one bucket by
# `_id`, and a page of a client's list reads one per announcement it considers, so a
# bucket is small (FerretDB's cost is in decoding it: 20 buckets of 200 ids took 19 ms).
BUCKET_SIZE = 100
# Reads never need the recipient list that announcements stored before their buckets
# carried (possibly 50,000 long) back.
_WITHOUT_RECIPIENTS = {"recipient_ids": 0}
# A publication needs the recipients (where they are) and no text.
_WITHOUT_TEXT = {"body": 0, "subject": 0}
# What a timeline entry records of an announcement.
_LISTED = {"practice_id": 1, "author_id": 1, "sort_key": 1, "recipients": 1}


def _bucket_of(recipient_id: str, buckets: int) -> int:
    """The bucket a recipient's id falls in (stable across processes, unlike `hash`)."""
    return zlib.crc32(recipient_id.encode()) % buckets


def _bucket_id(announcement_id: str, digest: str, n: int) -> str:
    return f"{announcement_id}:{digest}:{n}"


class AnnouncementStore:
    """Announcements with their resolved recipients; texts sealed at rest."""

    def __init__(self, db: Any, cipher: EnvelopeCipher, timelines: Timelines) -> None:
        self._announcements = db["announcements"]
        self._buckets = db["announcement_recipients"]
        self._cipher = cipher
        self._timelines = timelines

    async def ensure_indexes(self) -> None:
        """None: idempotency is the `_id` itself and the lists are timelines. The indexes
        the lists used to query go (the recipients' one was costly to keep)."""
        for name in ("author_list", "recipient_inbox"):
            await drop_index(self._announcements, name)

    async def insert(self, announcement_id: str, draft: Draft) -> Publication | None:
        """Write the announcement in one insert; None when its id (its author's idempotency
        key) is taken already (nothing written)."""
        now = utcnow()
        created_at = now.replace(microsecond=now.microsecond // 1000 * 1000)  # BSON precision
        doc: dict[str, Any] = {
            "_id": announcement_id,
            "practice_id": draft.practice_id,
            "author_id": draft.author_id,
            "idempotency_key": draft.idempotency_key,
            "body": self._cipher.seal(draft.body, announcement_id),
            "subject": (
                self._cipher.seal(draft.subject, announcement_id)
                if draft.subject is not None
                else None
            ),
            "recipient_count": len(draft.recipient_ids),
            "created_at": created_at,
            "sort_key": sort_key(created_at, announcement_id),
            **new_revision(),
        }
        # The recipients live in their buckets only: every read of the announcement (a
        # list's page, one announcement) would otherwise decode the whole list, which
        # FerretDB does even when the projection leaves it out.
        doc["recipients"], recipients = await self._add_buckets(
            announcement_id, draft.recipient_ids
        )
        try:
            await self._announcements.insert_one(doc)
        except DuplicateKeyError:
            return None
        return _publication(doc, recipients)

    async def _add_buckets(
        self, announcement_id: str, recipient_ids: tuple[str, ...]
    ) -> tuple[dict[str, Any], tuple[str, ...]]:
        """Store the recipients by bucket (before the announcement: a stored one has all
        of its own); what the announcement records to find them, and the recipients in
        bucket order, the order a publication lists them in (`publication` reads them back
        so). Keyed by a digest of the list, so a concurrent request with the same key but
        other recipients writes other buckets, and a repeat of this one finds its buckets
        written already."""
        digest = hashlib.sha256("\n".join(recipient_ids).encode()).hexdigest()[:16]
        count = max(1, math.ceil(len(recipient_ids) / BUCKET_SIZE))
        buckets: list[list[str]] = [[] for _ in range(count)]
        for recipient_id in recipient_ids:
            buckets[_bucket_of(recipient_id, count)].append(recipient_id)
        try:
            await self._buckets.insert_many(
                [
                    {"_id": _bucket_id(announcement_id, digest, n), "ids": ids}
                    for n, ids in enumerate(buckets)
                ],
                ordered=False,
            )
        except BulkWriteError as error:
            if any(e.get("code") != DUPLICATE_KEY for e in error.details.get("writeErrors", [])):
                raise
        return {"digest": digest, "buckets": count}, tuple(i for ids in buckets for i in ids)

    async def publication(self, announcement_id: str) -> Publication | None:
        """A stored announcement as it is published, or None."""
        doc = await self._announcements.find_one({"_id": announcement_id}, _WITHOUT_TEXT)
        if doc is None:
            return None
        where = doc.get("recipients")
        if "recipient_ids" in doc or where is None:  # stored with its own list (before)
            return _publication(doc, tuple(doc["recipient_ids"]))
        ids = [_bucket_id(announcement_id, where["digest"], n) for n in range(where["buckets"])]
        buckets = await find_each(self._buckets, ids)
        if any(b is None for b in buckets):
            raise LookupError(f"announcement {announcement_id}: a recipient bucket is missing")
        return _publication(doc, tuple(i for b in buckets if b for i in b["ids"]))

    async def find_receipt(self, author_id: str, idempotency_key: str) -> Receipt | None:
        """The announcement an author already sent with this idempotency key, if any."""
        doc = await self._announcements.find_one(
            {"_id": announcement_id_for(author_id, idempotency_key)},
            {"_id": 1, "recipient_count": 1},
        )
        return Receipt(doc["_id"], doc["recipient_count"]) if doc else None

    async def get(self, announcement_id: str) -> Announcement | None:
        """One announcement, decrypted, or None."""
        doc = await self._announcements.find_one({"_id": announcement_id}, _WITHOUT_RECIPIENTS)
        return self._announcement(doc) if doc else None

    async def list_published(self, published: list[tuple[str, int]]) -> None:
        """Put published announcements on their practice's and author's timelines, each in
        the partition its event came from. One this database does not hold is skipped: every
        deployment on the broker (tests included) shares the topic."""
        ids = list(dict.fromkeys(i for i, _ in published))
        docs = dict(zip(ids, await find_each(self._announcements, ids, _LISTED), strict=True))
        postings = []
        for announcement_id, partition in published:
            doc = docs[announcement_id]
            if doc is None:
                continue
            where = doc.get("recipients")
            entry = Entry(
                announcement_id,
                doc["sort_key"],
                (where["digest"], where["buckets"]) if where else None,
            )
            for owner in (
                practice_owner(doc["practice_id"]),
                author_owner(doc["practice_id"], doc["author_id"]),
            ):
                postings.append(Posting(owner, partition, entry))
        await self._timelines.append(postings)

    async def by_author(
        self, practice_id: str, author_id: str, *, after: str | None, limit: int
    ) -> Page[Announcement]:
        """An author's announcements, newest first."""
        owner = author_owner(practice_id, author_id)
        entries, next_after = await self._timelines.scan(owner, after=after, limit=limit, keep=None)
        docs = await find_each(self._announcements, [e.id for e in entries], _WITHOUT_RECIPIENTS)
        found = [
            self._announcement(d)
            for d in docs
            if d is not None and (d["practice_id"], d["author_id"]) == (practice_id, author_id)
        ]
        return Page(found, next_after)

    async def addressed_to(
        self, practice_id: str, client_id: str, *, after: str | None, limit: int
    ) -> Page[Announcement]:
        """Announcements whose recipients include the client, newest first: the practice's
        timeline, each entry checked against the one bucket that would list the client."""

        async def addressed(entries: list[Entry]) -> list[Entry]:
            return await self._addressed_among(entries, client_id)

        owner = practice_owner(practice_id)
        entries, next_after = await self._timelines.scan(
            owner, after=after, limit=limit, keep=addressed
        )
        docs = await find_each(self._announcements, [e.id for e in entries], _WITHOUT_RECIPIENTS)
        found = [self._announcement(d) for d in docs if d is not None]
        return Page(found, next_after)

    async def _addressed_among(self, entries: list[Entry], client_id: str) -> list[Entry]:
        """Those entries whose announcement addresses the client: one bucket read each,
        batched (its own recipient list for one stored before recipients had buckets)."""
        located = [(e.id, e.where) for e in entries if e.where is not None]
        bucket_ids = [
            _bucket_id(i, digest, _bucket_of(client_id, count)) for i, (digest, count) in located
        ]
        found = await find_each(self._buckets, bucket_ids)
        hits = {i for (i, _), b in zip(located, found, strict=True) if b and client_id in b["ids"]}
        unbucketed = [e.id for e in entries if e.where is None]
        for doc in await find_each(self._announcements, unbucketed, {"recipient_ids": 1}):
            if doc is not None and client_id in doc["recipient_ids"]:
                hits.add(doc["_id"])
        return [e for e in entries if e.id in hits]

    async def get_addressed_to(
        self, announcement_id: str, practice_id: str, client_id: str
    ) -> Announcement | None:
        """One announcement if the client is among its recipients, else None."""
        doc = await self._announcements.find_one({"_id": announcement_id}, _WITHOUT_RECIPIENTS)
        if doc is None or not await self._addressed(doc, practice_id, client_id):
            return None
        return self._announcement(doc)

    async def is_addressed_to(self, announcement_id: str, practice_id: str, client_id: str) -> bool:
        """True when the client is among the announcement's recipients."""
        doc = await self._announcements.find_one(
            {"_id": announcement_id}, {"practice_id": 1, "recipients": 1}
        )
        return doc is not None and await self._addressed(doc, practice_id, client_id)

    async def _addressed(self, doc: dict[str, Any], practice_id: str, client_id: str) -> bool:
        """Whether the client is a recipient: one read of the bucket that would hold them."""
        if doc["practice_id"] != practice_id:
            return False
        where = doc.get("recipients")
        if where is None:  # stored before recipients had buckets: its own list, read once
            listed = await self._announcements.find_one({"_id": doc["_id"]}, {"recipient_ids": 1})
            return listed is not None and client_id in listed["recipient_ids"]
        n = _bucket_of(client_id, where["buckets"])
        bucket = await self._buckets.find_one({"_id": _bucket_id(doc["_id"], where["digest"], n)})
        return bucket is not None and client_id in bucket["ids"]

    def _announcement(self, doc: dict[str, Any]) -> Announcement:
        aad = doc["_id"]
        return Announcement(
            announcement_id=doc["_id"],
            practice_id=doc["practice_id"],
            author_id=doc["author_id"],
            subject=self._cipher.open(doc["subject"], aad) if doc.get("subject") else None,
            body=self._cipher.open(doc["body"], aad),
            created_at=doc["created_at"],
            recipient_count=doc["recipient_count"],
            sort_key=doc["sort_key"],
        )


def _publication(doc: dict[str, Any], recipient_ids: tuple[str, ...]) -> Publication:
    return Publication(
        announcement_id=doc["_id"],
        practice_id=doc["practice_id"],
        author_id=doc["author_id"],
        recipient_ids=recipient_ids,
        created_at=doc["created_at"],
        revision=doc["rev"],
    )
