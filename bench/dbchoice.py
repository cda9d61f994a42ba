"""Which development database serves the hot paths better: a database-level micro-benchmark.

It replays, with PyMongo's AsyncMongoClient, the commands the threads service's hot paths
send (see tests/threads/test_command_budget.py), against MongoDB-wire servers named on the
command line (FerretDB on SQLite, FerretDB on PostgreSQL, MongoDB...):

- **a send** (a client's send, rate limits off): the intent insert, group-committed
  (`shared.batching.InsertBatcher`, as `shared.outbox` does) alongside the block check and
  the sender's name (finds by `_id`); the message insert at `_id = thread:seq` (~600 bytes
  of BSON with a sealed-body blob, under the unique index (thread_id, sender_id,
  client_message_id)); both views updated by `findAndModify` on `_id`; the intent deleted
  after, in batches, off the send's path (`delete` by `_id`, `$in` when several wait);
- **the inbox consumer**, behind the sends: per participant, a find by `_id` and a replace
  by `_id` of the (larger) inbox document, one writer;
- **a page of history** ("latest 20"): one probe past the newest slot, then the 20 slots
  read concurrently by `_id` (`MessageStore.page`).

Per target and round it measures (a) `--senders` concurrent senders, each on its own
thread, for `--seconds` → sends/s and the p50/p99 of the send (from its first command to
its views updated, when the service would answer 201); (b) "latest 20" p50/p99, alone;
(c) the same after preloading `--history` message documents over 1,000 threads and 2,000
view documents, to show the cost does not grow with history. Targets are interleaved
round by round (A, B, A, B...) at the same settings. With `--pid LABEL=PID` it reports each
server process's CPU seconds over each measured window (its descendants included, so a
PostgreSQL postmaster covers its backends), and it notes the load average.

    .venv/bin/python bench/dbchoice.py \\
        --target sqlite=mongodb://127.0.0.1:27018/ --pid sqlite=1234 \\
        --target postgresql=mongodb://127.0.0.1:27019/ \\
        --pid postgresql=2345 --pid postgresql=3456 \\
        --prepare postgresql='.venv/bin/python bench/dbchoice.py --pg-id-index-sql {db} \\
            | psql -h 127.0.0.1 -p 55432 -U postgres -d ferretdb' \\
        --rounds 2 --seconds 20

`--prepare LABEL=COMMAND` runs a shell command (with `{db}` replaced by the database name)
once the collections exist and again after the preload: e.g. the GIN index on `_id` that
FerretDB's PostgreSQL backend needs. FerretDB's SQLite wrapper indexes `_id` by itself
within 2 s (deploy/local/ferretdb/idindex.go): `--settle` waits for it.

It prints a table and writes bench/results/dbchoice.json. Loopback servers only; every
phase is bounded in time; each run's database is dropped afterwards (`--keep` keeps it).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Awaitable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as a script: bench/ and shared/ are importable
    sys.path.insert(0, str(ROOT))

import bson  # noqa: E402
from pymongo import AsyncMongoClient, ReturnDocument  # noqa: E402
from pymongo.errors import DuplicateKeyError  # noqa: E402

from bench import procs  # noqa: E402
from shared.batching import InsertBatcher  # noqa: E402

RESULTS = ROOT / "bench" / "results" / "dbchoice.json"
LOOPBACK = {"127.0.0.1", "localhost", "::1"}
HISTORY_THREADS = 1_000
PROVIDERS = 50
INBOX_ENTRIES = 40  # a provider's inbox: one entry per thread, the larger document
PAGE = 20
PRELOAD_BATCH = 1_000
PRELOAD_CONCURRENCY = 4
DELETE_BATCH = 500
BODY_BYTES = 56  # a 40-character body and its 16-byte tag: a message is ~650 bytes of BSON

# FerretDB 1.24 on PostgreSQL filters `_id` as `_jsonb->$1 @> $2`, which its btree index on
# `(_jsonb->'_id')` cannot serve: a GIN jsonb_path_ops index on the same expression can
# (with plan_cache_mode = force_custom_plan, so `$1` is known at planning). FerretDB keeps a
# database as a schema and a collection as a table with a `_jsonb` column.
PG_ID_INDEX_SQL = """
DO $$
DECLARE r record;
BEGIN
  FOR r IN SELECT table_name FROM information_schema.columns
           WHERE table_schema = '{db}' AND column_name = '_jsonb'
  LOOP
    EXECUTE format('CREATE INDEX IF NOT EXISTS %I ON %I.%I '
                   'USING gin ((_jsonb->''_id'') jsonb_path_ops)',
                   r.table_name || '_id_gin', '{db}', r.table_name);
    EXECUTE format('ANALYZE %I.%I', '{db}', r.table_name);
  END LOOP;
END $$;
"""


# --------------------------------------------------------------------------- documents


def slot_id(thread_id: str, seq: int) -> str:
    """As services.threads.store.messages.slot_id."""
    return f"{thread_id}:{seq:010d}"


def now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class ThreadRef:
    thread_id: str
    practice_id: str
    provider_id: str
    client_id: str


def thread_ref(prefix: str, i: int) -> ThreadRef:
    return ThreadRef(
        thread_id=f"{prefix}-{i:05d}",
        practice_id=f"pr{i % 5}",
        provider_id=f"{prefix}-p{i % PROVIDERS:03d}",
        client_id=f"{prefix}-c{i:05d}",
    )


def sealed_body() -> dict[str, Any]:
    """The shape and size of shared.crypto.EnvelopeCipher.seal's output."""
    return {
        "kid": "k1",
        "key_nonce": os.urandom(12),
        "wrapped_key": os.urandom(48),
        "nonce": os.urandom(12),
        "ciphertext": os.urandom(BODY_BYTES),
    }


def message_doc(t: ThreadRef, seq: int, *, from_client: bool = True) -> dict[str, Any]:
    """A message document as MessageStore.append writes it."""
    sender, recipient = t.client_id, t.provider_id
    if not from_client:
        sender, recipient = recipient, sender
    return {
        "_id": slot_id(t.thread_id, seq),
        "seq": seq,
        "message_id": str(uuid.uuid4()),
        "thread_id": t.thread_id,
        "practice_id": t.practice_id,
        "provider_id": t.provider_id,
        "client_id": t.client_id,
        "client_message_id": str(uuid.uuid4()),
        "sender_role": "client" if from_client else "provider",
        "sender_id": sender,
        "sender_display_name": "Ada Lovelace" if from_client else "Dr. Grace Hopper",
        "recipient_role": "provider" if from_client else "client",
        "recipient_id": recipient,
        "body_sealed": sealed_body(),
        "created_at": now(),
    }


def view_doc(t: ThreadRef, participant: str, *, last_seq: int = 0) -> dict[str, Any]:
    """A view document as ViewStore.ensure writes it (then kept by on_sent/on_received)."""
    is_provider = participant == t.provider_id
    at = now()
    return {
        "_id": f"{t.thread_id}:{participant}",
        "thread_id": t.thread_id,
        "practice_id": t.practice_id,
        "participant_id": participant,
        "role": "provider" if is_provider else "client",
        "other_id": t.client_id if is_provider else t.provider_id,
        "other_first_name": "Ada" if is_provider else "",
        "other_last_name": "Lovelace" if is_provider else "",
        "other_display_name": "" if is_provider else "Dr. Grace Hopper",
        "other_search": "ada lovelace" if is_provider else "dr. grace hopper",
        "created_at": at,
        "activity_at": at,
        "last_message_at": at if last_seq else None,
        "last_seq": last_seq,
        "read_seq": last_seq,
        "unread": False,
        "archived": False,
        "rev": uuid.uuid4().hex,
        "changed_at": at,
    }


def inbox_entry(thread_id: str, other_id: str) -> dict[str, Any]:
    at = now()
    return {
        "thread_id": thread_id,
        "practice_id": "pr0",
        "participant_role": "provider",
        "other_id": other_id,
        "other_first_name": "Ada",
        "other_last_name": "Lovelace",
        "other_display_name": "",
        "search": "ada lovelace",
        "created_at": at,
        "last_message_at": at,
        "activity_at": at,
        "last_seq": 1,
        "read_seq": 0,
        "unread": True,
        "archived": False,
        "last_incoming_seq": 1,
        "own_after_read": 0,
        "rev": uuid.uuid4().hex,
        "changed_at": at,
    }


def inbox_doc(participant: str, entries: int) -> dict[str, Any]:
    return {
        "_id": participant,
        "entries": {
            f"th-{participant}-{k}": inbox_entry(f"th-{participant}-{k}", f"o{k}")
            for k in range(entries)
        },
    }


# --------------------------------------------------------------------------- measurement


def pct(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))], 2)


def loadavg() -> list[float]:
    return [float(x) for x in Path("/proc/loadavg").read_text().split()[:3]]


def self_cpu() -> float:
    t = os.times()
    return t.user + t.system


@dataclass
class CpuWatch:
    """CPU seconds of named server processes (with descendants) over a window."""

    pids: dict[str, list[int]]
    start: dict[str, float] = field(default_factory=dict)
    client_start: float = 0.0
    wall_start: float = 0.0
    load_start: list[float] = field(default_factory=list)

    def _sample(self) -> dict[str, float]:
        children = procs._children()
        return {
            f"{label}:{pid}": procs.tree_cpu_seconds(pid, children)
            for label, pids in self.pids.items()
            for pid in pids
        }

    def begin(self) -> None:
        self.start = self._sample()
        self.client_start = self_cpu()
        self.wall_start = time.monotonic()
        self.load_start = loadavg()

    def end(self) -> dict[str, Any]:
        after = self._sample()
        wall = time.monotonic() - self.wall_start
        server = {k: round(after[k] - self.start.get(k, 0.0), 2) for k in after}
        return {
            "wall_s": round(wall, 2),
            "server_cpu_s": server,
            "server_cpu_total_s": round(sum(server.values()), 2),
            "client_cpu_s": round(self_cpu() - self.client_start, 2),
            "loadavg_start": self.load_start,
            "loadavg_end": loadavg(),
        }


class IntentDeleter:
    """The outbox's deferred deletes: one `delete` per flush, by `_id` (`$in` when several)."""

    def __init__(self, collection: Any) -> None:
        self._collection = collection
        self._finished: list[str] = []
        self._wanted = asyncio.Event()
        self.commands = 0

    def forget(self, _id: str) -> None:
        self._finished.append(_id)
        self._wanted.set()

    async def flush(self) -> None:
        while self._finished:
            batch, self._finished = self._finished[:DELETE_BATCH], self._finished[DELETE_BATCH:]
            if len(batch) == 1:
                await self._collection.delete_one({"_id": batch[0]})
            else:
                await self._collection.delete_many({"_id": {"$in": batch}})
            self.commands += 1

    async def run(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            await self._wanted.wait()
            self._wanted.clear()
            await self.flush()


class InboxConsumer:
    """One writer of the inboxes: per participant, find by `_id` and replace by `_id`."""

    def __init__(self, collection: Any) -> None:
        self._collection = collection
        self._pending: dict[str, list[tuple[str, int]]] = {}
        self._wanted = asyncio.Event()
        self.latencies_ms: list[float] = []
        self.applied = 0

    def changed(self, participant: str, thread_id: str, seq: int) -> None:
        self._pending.setdefault(participant, []).append((thread_id, seq))
        self._wanted.set()

    async def drain(self) -> None:
        while self._pending:
            participant = next(iter(self._pending))  # oldest first, as a partition is read
            changes = self._pending.pop(participant)
            t0 = time.perf_counter()
            doc = await self._collection.find_one({"_id": participant})
            entries = dict(doc["entries"]) if doc else {}
            for thread_id, seq in changes:
                entry = entries.get(thread_id) or inbox_entry(thread_id, participant)
                entries[thread_id] = {**entry, "last_seq": seq, "activity_at": now()}
            await self._collection.replace_one(
                {"_id": participant}, {"entries": entries}, upsert=True
            )
            self.latencies_ms.append((time.perf_counter() - t0) * 1000)
            self.applied += 1

    async def run(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            await self._wanted.wait()
            self._wanted.clear()
            await self.drain()

    def backlog(self) -> int:
        return sum(len(v) for v in self._pending.values())


class Workload:
    """The threads service's hot-path commands against one database."""

    def __init__(self, db: Any) -> None:
        self.db = db
        self.messages = db["messages"]
        self.views = db["views"]
        self.intents = db["intents"]
        self.inboxes = db["inboxes"]
        self.blocks = db["blocks"]
        self.clients = db["clients"]
        self.intent_inserts = InsertBatcher(self.intents)
        self.deleter = IntentDeleter(self.intents)
        self.inbox = InboxConsumer(self.inboxes)
        self.duplicates = 0

    async def setup(self) -> None:
        """The collections and the secondary indexes the threads service creates."""
        for name in ("messages", "views", "intents", "inboxes", "blocks", "clients"):
            await self.db.create_collection(name)
        await self.messages.create_index(
            [("thread_id", 1), ("sender_id", 1), ("client_message_id", 1)],
            unique=True,
            name="sender_cmid",
        )
        await self.views.create_index(
            [("participant_id", 1), ("archived", 1), ("activity_at", -1)], name="box"
        )
        await self.views.create_index(
            [("participant_id", 1), ("practice_id", 1), ("unread", 1)], name="unread_in_practice"
        )

    async def seed_threads(self, threads: list[ThreadRef], *, last_seq: int) -> None:
        """Views, clients and inboxes of the senders' threads (history already stored)."""
        views = [
            view_doc(t, p, last_seq=last_seq) for t in threads for p in (t.provider_id, t.client_id)
        ]
        await self.views.delete_many({"_id": {"$in": [v["_id"] for v in views]}})
        await self.views.insert_many(views, ordered=False)
        clients = [
            {
                "_id": t.client_id,
                "practice_id": t.practice_id,
                "first_name": "Ada",
                "last_name": "Lovelace",
                "active": True,
            }
            for t in threads
        ]
        await self.clients.delete_many({"_id": {"$in": [c["_id"] for c in clients]}})
        await self.clients.insert_many(clients, ordered=False)
        providers = sorted({t.provider_id for t in threads})
        inboxes = [inbox_doc(p, INBOX_ENTRIES) for p in providers]
        inboxes += [inbox_doc(t.client_id, 1) for t in threads]
        await self.inboxes.delete_many({"_id": {"$in": [d["_id"] for d in inboxes]}})
        await self.inboxes.insert_many(inboxes, ordered=False)

    async def send(self, t: ThreadRef, seq: int) -> int:
        """One client's send; returns the seq it stored at."""
        intent_id = uuid.uuid4().hex
        intent: dict[str, Any] = {
            "_id": intent_id,
            "kind": "messages",
            "ref": {"thread_id": t.thread_id, "after_seq": seq - 1},
            "at": now(),
        }
        _, blocked, client = await asyncio.gather(
            self.intent_inserts.insert(intent),
            self.blocks.find_one({"_id": f"{t.provider_id}:{t.client_id}"}),
            self.clients.find_one({"_id": t.client_id}),
        )
        assert blocked is None and client is not None
        doc = message_doc(t, seq)
        while True:
            try:
                await self.messages.insert_one(doc)
                break
            except DuplicateKeyError:  # never expected here: each sender owns its thread
                self.duplicates += 1
                seq += 1
                doc.update(_id=slot_id(t.thread_id, seq), seq=seq)
        at = doc["created_at"]
        rev = {"rev": uuid.uuid4().hex, "changed_at": at}
        await asyncio.gather(
            self.views.find_one_and_update(
                {"_id": f"{t.thread_id}:{t.client_id}"},
                {
                    "$max": {
                        "last_seq": seq,
                        "read_seq": seq,
                        "last_message_at": at,
                        "activity_at": at,
                    },
                    "$set": {"unread": False, "own_after_read": 0, **rev},
                },
                return_document=ReturnDocument.AFTER,
            ),
            self.views.find_one_and_update(
                {"_id": f"{t.thread_id}:{t.provider_id}"},
                {
                    "$max": {
                        "last_seq": seq,
                        "last_incoming_seq": seq,
                        "last_message_at": at,
                        "activity_at": at,
                    },
                    "$set": {"unread": True, "archived": False, **rev},
                },
                return_document=ReturnDocument.BEFORE,
            ),
        )
        # After the 201: the intent is forgotten and the inbox consumer follows the events.
        self.deleter.forget(intent_id)
        self.inbox.changed(t.client_id, t.thread_id, seq)
        self.inbox.changed(t.provider_id, t.thread_id, seq)
        return seq

    async def latest_page(self, thread_id: str, top: int) -> int:
        """A page of history: a probe past the newest, then 20 slots by `_id`; docs found."""
        probe = await self.messages.find_one({"_id": slot_id(thread_id, top + 1)})
        assert probe is None
        seqs = range(top, max(top - PAGE, 0), -1)
        docs = await asyncio.gather(
            *(self.messages.find_one({"_id": slot_id(thread_id, s)}) for s in seqs)
        )
        return sum(d is not None for d in docs)


# --------------------------------------------------------------------------- phases


@dataclass
class Settings:
    senders: int
    seconds: float
    warmup: float
    page_reads: int
    page_seconds: float
    history: int
    history_views: int
    settle: float
    preload_timeout: float
    rounds: int


async def run_sends(
    work: Workload,
    threads: list[ThreadRef],
    start_seq: dict[str, int],
    s: Settings,
    cpu: CpuWatch,
) -> dict[str, Any]:
    """(a): `senders` concurrent senders for `seconds` (after a warm-up)."""
    stop_background = asyncio.Event()
    background = [
        asyncio.create_task(work.deleter.run(stop_background)),
        asyncio.create_task(work.inbox.run(stop_background)),
    ]
    latencies: list[float] = []
    seqs = dict(start_seq)
    measuring = False
    deadline = time.monotonic() + s.warmup

    async def sender(t: ThreadRef) -> None:
        while time.monotonic() < deadline:
            t0 = time.perf_counter()
            seqs[t.thread_id] = await work.send(t, seqs[t.thread_id] + 1)
            if measuring:
                latencies.append((time.perf_counter() - t0) * 1000)

    await asyncio.gather(*(sender(t) for t in threads))  # warm-up: pools, caches
    inbox_before = len(work.inbox.latencies_ms)
    measuring = True
    cpu.begin()
    deadline = time.monotonic() + s.seconds
    await asyncio.gather(*(sender(t) for t in threads))
    window = cpu.end()
    inbox_lat = work.inbox.latencies_ms[inbox_before:]
    backlog = work.inbox.backlog()
    # Let the background work finish (bounded), then stop it.
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(asyncio.gather(work.inbox.drain(), work.deleter.flush()), 120)
    stop_background.set()
    work.inbox._wanted.set()
    work.deleter._wanted.set()
    for task in background:
        task.cancel()
    await asyncio.gather(*background, return_exceptions=True)
    left = await work.intents.count_documents({})
    sends = len(latencies)
    return {
        "sends": sends,
        "sends_per_s": round(sends / window["wall_s"], 1),
        "send_p50_ms": pct(latencies, 0.50),
        "send_p99_ms": pct(latencies, 0.99),
        "inbox_updates_per_s": round(len(inbox_lat) / window["wall_s"], 1),
        "inbox_update_p50_ms": pct(inbox_lat, 0.50),
        "inbox_update_p99_ms": pct(inbox_lat, 0.99),
        "inbox_backlog_at_end": backlog,
        "intents_left": left,
        "duplicate_slots": work.duplicates,
        "server_cpu_ms_per_send": round(1000 * window["server_cpu_total_s"] / max(sends, 1), 2),
        "seqs": seqs,
        **window,
    }


async def run_pages(
    work: Workload, threads: list[ThreadRef], seqs: dict[str, int], s: Settings, cpu: CpuWatch
) -> dict[str, Any]:
    """(b): "latest 20" of a thread, one page at a time, nothing else running."""
    latencies: list[float] = []
    found = 0
    cpu.begin()
    deadline = time.monotonic() + s.page_seconds
    i = 0
    while i < s.page_reads and time.monotonic() < deadline:
        t = threads[i % len(threads)]
        t0 = time.perf_counter()
        found += await work.latest_page(t.thread_id, seqs[t.thread_id])
        latencies.append((time.perf_counter() - t0) * 1000)
        i += 1
    window = cpu.end()
    return {
        "pages": len(latencies),
        "docs_per_page": round(found / max(len(latencies), 1), 1),
        "latest20_p50_ms": pct(latencies, 0.50),
        "latest20_p99_ms": pct(latencies, 0.99),
        "server_cpu_ms_per_page": round(
            1000 * window["server_cpu_total_s"] / max(len(latencies), 1), 2
        ),
        **window,
    }


async def preload(work: Workload, s: Settings, prefix: str) -> dict[str, Any]:
    """(c): `history` messages over 1,000 threads and `history_views` views, bulk-inserted."""
    threads = [thread_ref(prefix, i) for i in range(HISTORY_THREADS)]
    per_thread = max(s.history // HISTORY_THREADS, 1)
    t0 = time.monotonic()
    gate = asyncio.Semaphore(PRELOAD_CONCURRENCY)
    inserted = 0

    async def batch(docs: list[dict[str, Any]], collection: Any) -> None:
        nonlocal inserted
        async with gate:
            await collection.insert_many(docs, ordered=False)
            inserted += len(docs)

    async def all_batches() -> None:
        pending: list[Awaitable[None]] = []
        docs: list[dict[str, Any]] = []
        for seq in range(1, per_thread + 1):  # interleaved, as history accrues
            for k, t in enumerate(threads):
                docs.append(message_doc(t, seq, from_client=(seq + k) % 2 == 0))
                if len(docs) == PRELOAD_BATCH:
                    pending.append(batch(docs, work.messages))
                    docs = []
                if len(pending) >= 4 * PRELOAD_CONCURRENCY:
                    await asyncio.gather(*pending)
                    pending = []
        if docs:
            pending.append(batch(docs, work.messages))
        views = [
            view_doc(t, p, last_seq=per_thread)
            for t in threads
            for p in (t.provider_id, t.client_id)
        ][: s.history_views]
        for i in range(0, len(views), PRELOAD_BATCH):
            pending.append(batch(views[i : i + PRELOAD_BATCH], work.views))
        await asyncio.gather(*pending)

    complete = True
    try:
        await asyncio.wait_for(all_batches(), s.preload_timeout)
    except TimeoutError:
        complete = False
    took = time.monotonic() - t0
    size = len(bson.encode(message_doc(threads[0], 1)))
    return {
        "threads": HISTORY_THREADS,
        "messages_per_thread": per_thread,
        "documents_inserted": inserted,
        "complete": complete,
        "seconds": round(took, 1),
        "docs_per_s": round(inserted / took, 1),
        "message_bson_bytes": size,
        "messages_stored": await work.messages.estimated_document_count(),
        "views_stored": await work.views.estimated_document_count(),
    }


def prepare(command: str | None, db: str) -> dict[str, Any] | None:
    if not command:
        return None
    t0 = time.monotonic()
    done = subprocess.run(  # the operator's own command line
        command.replace("{db}", db), shell=True, capture_output=True, text=True, timeout=600
    )
    if done.returncode != 0:
        raise SystemExit(f"prepare failed ({done.returncode}): {done.stderr.strip()}")
    return {"seconds": round(time.monotonic() - t0, 2), "output": done.stdout.strip()[-500:]}


async def one_run(
    label: str,
    url: str,
    pids: dict[str, list[int]],
    prep: str | None,
    s: Settings,
    rnd: int,
    keep: bool,
    tag: str,
) -> dict[str, Any]:
    # A name never used before on the server: FerretDB's SQLite wrapper keeps a handle on a
    # dropped database's file, so a database re-created under the same name gets no `_id`
    # index from it (deploy/local/ferretdb/idindex.go).
    db_name = f"dbchoice_{tag}_r{rnd}"
    client: Any = AsyncMongoClient(url, serverSelectionTimeoutMS=10_000, maxPoolSize=100)
    cpu = CpuWatch(pids)
    out: dict[str, Any] = {"round": rnd, "target": label, "database": db_name}
    try:
        await client.drop_database(db_name)
        db = client[db_name]
        work = Workload(db)
        await work.setup()
        live = [thread_ref("live", i) for i in range(s.senders)]
        await work.seed_threads(live, last_seq=0)
        out["prepare"] = prepare(prep, db_name)
        await asyncio.sleep(s.settle)

        log(f"[{label} r{rnd}] fresh: {s.senders} senders for {s.seconds:.0f}s")
        sends = await run_sends(work, live, {t.thread_id: 0 for t in live}, s, cpu)
        seqs = sends.pop("seqs")
        pages = await run_pages(work, live, seqs, s, cpu)
        out["fresh"] = {"sends": sends, "latest20": pages}
        log(
            f"[{label} r{rnd}] fresh: {sends['sends_per_s']} sends/s, "
            f"p50 {sends['send_p50_ms']} ms, p99 {sends['send_p99_ms']} ms; "
            f"latest-20 p50 {pages['latest20_p50_ms']} ms"
        )

        log(f"[{label} r{rnd}] preloading {s.history} messages and {s.history_views} views")
        out["preload"] = await preload(work, s, "hist")
        log(
            f"[{label} r{rnd}] preload: {out['preload']['documents_inserted']} docs "
            f"in {out['preload']['seconds']} s"
        )
        per_thread = out["preload"]["messages_per_thread"]
        hist = [thread_ref("hist", i) for i in range(s.senders)]
        await work.seed_threads(hist, last_seq=per_thread)
        out["prepare_after_preload"] = prepare(prep, db_name)
        await asyncio.sleep(s.settle)

        log(f"[{label} r{rnd}] history: {s.senders} senders for {s.seconds:.0f}s")
        work.inbox.latencies_ms.clear()
        sends = await run_sends(work, hist, {t.thread_id: per_thread for t in hist}, s, cpu)
        seqs = sends.pop("seqs")
        pages = await run_pages(work, hist, seqs, s, cpu)
        out["history"] = {"sends": sends, "latest20": pages}
        log(
            f"[{label} r{rnd}] history: {sends['sends_per_s']} sends/s, "
            f"p50 {sends['send_p50_ms']} ms, p99 {sends['send_p99_ms']} ms; "
            f"latest-20 p50 {pages['latest20_p50_ms']} ms"
        )
        out["messages_stored_at_end"] = await work.messages.estimated_document_count()
    finally:
        if not keep:
            try:
                await client.drop_database(db_name)
            except Exception as error:  # report, but keep the figures
                out["drop_error"] = repr(error)
        await client.close()
    return out


# --------------------------------------------------------------------------- report


def log(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def fmt(v: Any) -> str:
    return "-" if v is None else f"{v:g}" if isinstance(v, float) else str(v)


def table(runs: list[dict[str, Any]]) -> str:
    head = [
        "round",
        "backend",
        "data",
        "sends/s",
        "send p50",
        "send p99",
        "inbox p50",
        "latest20 p50",
        "latest20 p99",
        "srv CPU s",
        "CPU ms/send",
        "cli CPU s",
        "load 1m",
    ]
    rows = [head]
    for r in runs:
        for phase, data in (("fresh", "fresh"), ("history", "100k")):
            if phase not in r:
                continue
            a, b = r[phase]["sends"], r[phase]["latest20"]
            rows.append(
                [
                    str(r["round"]),
                    r["target"],
                    data,
                    fmt(a["sends_per_s"]),
                    fmt(a["send_p50_ms"]),
                    fmt(a["send_p99_ms"]),
                    fmt(a["inbox_update_p50_ms"]),
                    fmt(b["latest20_p50_ms"]),
                    fmt(b["latest20_p99_ms"]),
                    fmt(a["server_cpu_total_s"]),
                    fmt(a["server_cpu_ms_per_send"]),
                    fmt(a["client_cpu_s"]),
                    f"{a['loadavg_start'][0]:.1f}->{a['loadavg_end'][0]:.1f}",
                ]
            )
    widths = [max(len(row[i]) for row in rows) for i in range(len(head))]
    lines = ["  ".join(c.rjust(w) for c, w in zip(row, widths, strict=True)) for row in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines) + "\n(times in ms; CPU over the sends window)"


def summary(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """Per target and data size, the median over rounds of each headline figure."""
    out: dict[str, Any] = {}
    keys = {
        "sends": [
            "sends_per_s",
            "send_p50_ms",
            "send_p99_ms",
            "inbox_update_p50_ms",
            "server_cpu_ms_per_send",
        ],
        "latest20": ["latest20_p50_ms", "latest20_p99_ms", "server_cpu_ms_per_page"],
    }
    for r in runs:
        for phase in ("fresh", "history"):
            if phase not in r:
                continue
            slot = out.setdefault(r["target"], {}).setdefault(phase, {})
            for part, names in keys.items():
                for name in names:
                    slot.setdefault(name, []).append(r[phase][part][name])
    for phases in out.values():
        for phase, figures in phases.items():
            phases[phase] = {k: median(v) for k, v in figures.items()}
        if "fresh" in phases and "history" in phases:
            f, h = phases["fresh"], phases["history"]
            phases["history_vs_fresh"] = {
                "sends_per_s": ratio(h["sends_per_s"], f["sends_per_s"]),
                "send_p50_ms": ratio(h["send_p50_ms"], f["send_p50_ms"]),
                "latest20_p50_ms": ratio(h["latest20_p50_ms"], f["latest20_p50_ms"]),
            }
    return out


def median(values: list[Any]) -> float | None:
    vals: list[float] = sorted(float(v) for v in values if v is not None)
    if not vals:
        return None
    mid = len(vals) // 2
    return round(vals[mid] if len(vals) % 2 else (vals[mid - 1] + vals[mid]) / 2, 2)


def ratio(a: float | None, b: float | None) -> float | None:
    return round(a / b, 2) if a is not None and b else None


# --------------------------------------------------------------------------- main


def pairs(values: list[str], what: str) -> list[tuple[str, str]]:
    out = []
    for v in values:
        label, sep, rest = v.partition("=")
        if not sep:
            raise SystemExit(f"{what} wants LABEL=VALUE, got {v!r}")
        out.append((label, rest))
    return out


def check_loopback(url: str) -> None:
    host = urlsplit(url).hostname or ""
    if host not in LOOPBACK:
        raise SystemExit(f"refusing a non-loopback server: {url}")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("url", nargs="*", help="MONGODB_URL(s), labelled by port")
    p.add_argument("--target", action="append", default=[], help="LABEL=MONGODB_URL")
    p.add_argument("--pid", action="append", default=[], help="LABEL=PID of a server process")
    p.add_argument("--prepare", action="append", default=[], help="LABEL=shell command ({db})")
    p.add_argument("--rounds", type=int, default=2)
    p.add_argument("--senders", type=int, default=16)
    p.add_argument("--seconds", type=float, default=20.0)
    p.add_argument("--warmup", type=float, default=3.0)
    p.add_argument("--page-reads", type=int, default=300)
    p.add_argument("--page-seconds", type=float, default=20.0)
    p.add_argument("--history", type=int, default=100_000)
    p.add_argument("--history-views", type=int, default=2_000)
    p.add_argument("--settle", type=float, default=5.0, help="after creating collections")
    p.add_argument("--preload-timeout", type=float, default=900.0)
    p.add_argument("--out", type=Path, default=RESULTS)
    p.add_argument("--note", action="append", default=[], help="LABEL=text kept in the JSON")
    p.add_argument("--keep", action="store_true", help="keep each run's database")
    p.add_argument(
        "--pg-id-index-sql",
        metavar="DB",
        help="print the SQL that adds the GIN `_id` index to DB's tables, and exit",
    )
    a = p.parse_args(argv)
    if a.pg_id_index_sql:
        print(PG_ID_INDEX_SQL.replace("{db}", a.pg_id_index_sql))
        return 0

    targets = [(f"port{urlsplit(u).port}", u) for u in a.url] + pairs(a.target, "--target")
    if not targets:
        p.error("name at least one MONGODB_URL")
    for _, url in targets:
        check_loopback(url)
    pids: dict[str, list[int]] = {}
    for label, pid in pairs(a.pid, "--pid"):
        pids.setdefault(label, []).append(int(pid))
    preps = dict(pairs(a.prepare, "--prepare"))
    notes = dict(pairs(a.note, "--note"))
    s = Settings(
        a.senders,
        a.seconds,
        a.warmup,
        a.page_reads,
        a.page_seconds,
        a.history,
        a.history_views,
        a.settle,
        a.preload_timeout,
        a.rounds,
    )

    runs: list[dict[str, Any]] = []
    started = time.monotonic()
    tag = f"{int(time.time()) % 1_000_000:06d}"
    for rnd in range(1, s.rounds + 1):
        for label, url in targets:  # interleaved: A, B, A, B
            mine = {label: pids.get(label, [])}
            runs.append(
                asyncio.run(one_run(label, url, mine, preps.get(label), s, rnd, a.keep, tag))
            )

    result = {
        "benchmark": "dbchoice",
        "what": "FerretDB backends on the threads service's hot-path commands (PyMongo async)",
        "machine": procs.machine(),
        "settings": {k: getattr(s, k) for k in s.__dataclass_fields__},
        "targets": {
            label: {
                "url": url,
                "pids": pids.get(label, []),
                "prepare": preps.get(label),
                "note": notes.get(label),
            }
            for label, url in targets
        },
        "runs": runs,
        "summary": summary(runs),
        "total_seconds": round(time.monotonic() - started, 1),
    }
    a.out.parent.mkdir(parents=True, exist_ok=True)
    a.out.write_text(json.dumps(result, indent=2, default=str) + "\n")
    print(table(runs))
    print(json.dumps(result["summary"], indent=2))
    print(f"wrote {a.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
