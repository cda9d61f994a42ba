"""The inbox and audit consumers write without reading first, while they own the partition.

Only the consumer that owns a participant's (or practice's) partition writes their inbox
(or audit chain head), so what it wrote last is what is stored: it keeps that and skips
the read before its next write. When its partitions change hands, another process may
have written meanwhile, so it forgets them.
"""

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import pytest
from pymongo import AsyncMongoClient, monitoring

from services.threads.store.audit import HEAD_EVERY, AuditChain
from services.threads.store.inbox import InboxStore
from shared.events.audit import AccessRecorded
from shared.events.threads import InboxEntryChanged
from tests.support import StartedCommands, infra_env, unique


@dataclass
class Finds(StartedCommands):
    """The finds sent to one database, by collection."""

    database: str
    collections: list[str] = field(default_factory=list)

    @property
    def count(self) -> int:
        return len(self.collections)

    def started(self, event: monitoring.CommandStartedEvent) -> None:
        if event.database_name == self.database and event.command_name == "find":
            self.collections.append(event.command["find"])


@dataclass
class Watched:
    db: Any
    finds: Finds


@pytest.fixture
async def watched() -> AsyncIterator[Watched]:
    name = unique("test_written_")
    finds = Finds(name)
    mongo: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(
        infra_env()["mongodb_url"], event_listeners=[finds], tz_aware=True
    )
    try:
        yield Watched(mongo[name], finds)
    finally:
        await mongo.drop_database(name)
        await mongo.close()


@dataclass
class Inboxes:
    store: InboxStore
    finds: Finds
    raw: Any


@pytest.fixture
def inboxes(watched: Watched) -> Inboxes:
    return Inboxes(InboxStore(watched.db), watched.finds, watched.db["inboxes"])


def change(participant: str, thread: str, *, unread: bool) -> InboxEntryChanged:
    now = datetime.now(UTC)
    return InboxEntryChanged(
        participant_id=participant,
        participant_role="provider",
        practice_id="pr",
        thread_id=thread,
        other_id=unique("c-"),
        created_at=now,
        activity_at=now,
        unread=unread,
        revision=unique(),
    )


async def test_a_second_write_of_an_owned_inbox_reads_nothing(inboxes: Inboxes) -> None:
    participant = unique("p-")
    await inboxes.store.apply(participant, [change(participant, "t1", unread=True)])
    reads_before = inboxes.finds.count

    await inboxes.store.apply(participant, [change(participant, "t2", unread=True)])

    assert inboxes.finds.count == reads_before
    stored = await inboxes.raw.find_one({"_id": participant})
    assert set(stored["entries"]) == {"t1", "t2"}


async def test_after_its_partitions_move_the_consumer_reads_what_another_wrote(
    inboxes: Inboxes,
) -> None:
    participant = unique("p-")
    await inboxes.store.apply(participant, [change(participant, "t1", unread=False)])
    # Meanwhile another process owned the partition and wrote a thread of its own.
    other = InboxStore(inboxes.raw.database)
    await other.apply(participant, [change(participant, "t9", unread=True)])

    inboxes.store.forget_written()
    _, entries = await inboxes.store.apply(participant, [change(participant, "t2", unread=True)])

    assert set(entries) == {"t1", "t2", "t9"}
    stored = await inboxes.raw.find_one({"_id": participant})
    assert set(stored["entries"]) == {"t1", "t2", "t9"}


def access(practice: str) -> AccessRecorded:
    return AccessRecorded(
        practice_id=practice,
        actor_id=unique("p-"),
        actor_role="provider",
        action="message.send",
        resource_type="thread",
        resource_id=unique("t-"),
        service="threads",
    )


async def test_a_second_append_to_an_owned_chain_reads_no_head(watched: Watched) -> None:
    chain, practice = AuditChain(watched.db), unique("pr-")
    await chain.append(practice, [access(practice)])
    heads_read = watched.finds.collections.count("audit_heads")

    assert await chain.append(practice, [access(practice), access(practice)]) == 3

    assert watched.finds.collections.count("audit_heads") == heads_read
    assert [(await chain.at(practice, n) or {}).get("position") for n in (1, 2, 3)] == [1, 2, 3]


async def test_after_its_partitions_move_the_chain_goes_on_from_the_stored_head(
    watched: Watched,
) -> None:
    chain, other, practice = AuditChain(watched.db), AuditChain(watched.db), unique("pr-")
    await chain.append(practice, [access(practice)])
    await other.append(practice, [access(practice)])  # the partition's owner meanwhile

    chain.forget_written()
    assert await chain.append(practice, [access(practice)]) == 3

    second, third = await chain.at(practice, 2), await chain.at(practice, 3)
    assert second is not None and third is not None
    assert third["prev_hash"] == second["hash"]


async def test_the_head_is_stored_every_few_records_and_read_past(watched: Watched) -> None:
    chain, practice = AuditChain(watched.db), unique("pr-")
    for _ in range(HEAD_EVERY + 3):
        await chain.append(practice, [access(practice)])

    stored = await watched.db["audit_heads"].find_one({"_id": practice})
    assert stored is not None and stored["position"] == HEAD_EVERY
    last = await chain.at(practice, HEAD_EVERY + 3)
    assert last is not None
    assert await AuditChain(watched.db).head(practice) == (HEAD_EVERY + 3, last["hash"])

    chain.forget_written()  # another owner now: it goes on after the newest record
    assert await AuditChain(watched.db).append(practice, [access(practice)]) == HEAD_EVERY + 4
    newest = await chain.at(practice, HEAD_EVERY + 4)
    assert newest is not None and newest["prev_hash"] == last["hash"]


async def test_a_redelivered_batch_chains_only_its_new_records(watched: Watched) -> None:
    chain, practice = AuditChain(watched.db), unique("pr-")
    await chain.ensure_indexes()
    first, second, third = (access(practice) for _ in range(3))
    await chain.append(practice, [first, second])
    chain.forget_written()  # the batch comes again after a restart, with one more record

    assert await chain.append(practice, [first, second, third]) == 3

    stored = [await chain.at(practice, n) for n in (1, 2, 3, 4)]
    assert [r and r["event_id"] for r in stored] == [
        str(first.event_id),
        str(second.event_id),
        str(third.event_id),
        None,
    ]
    assert stored[2] is not None and stored[1] is not None
    assert stored[2]["prev_hash"] == stored[1]["hash"]


async def test_an_event_chained_already_is_skipped_and_the_rest_of_its_batch_goes_on(
    watched: Watched,
) -> None:
    chain, practice = AuditChain(watched.db), unique("pr-")
    await chain.ensure_indexes()
    early, later, new = (access(practice) for _ in range(3))
    await chain.append(practice, [early, later])

    # `early` again, at the head of a batch: chained at position 1 already, so `new` is 3.
    assert await AuditChain(watched.db).append(practice, [early, new]) == 3

    third = await chain.at(practice, 3)
    second = await chain.at(practice, 2)
    assert third is not None and second is not None
    assert (third["event_id"], third["prev_hash"]) == (str(new.event_id), second["hash"])
    assert await chain.at(practice, 4) is None
