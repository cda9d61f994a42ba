"""msgctl audit export on the real database: a small chain written as the threads service
writes it (shared.audit.record_hash, ids by shared.audit.record_id) in a throwaway
database, exported, then tampered with."""

import json
import os
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from shared.audit import GENESIS, first_broken_link, record_hash, record_id
from shared.mongo import create_mongo_client
from shared.settings import MongoSettings
from tests.ops.test_msgctl import Run, msgctl
from tests.support import infra_env, unique

START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
RECORDS = 5


@dataclass(frozen=True)
class Chain:
    """A practice's chain in a database of its own."""

    database: Any
    practice_id: str
    records: list[dict[str, Any]]

    async def export(self, *args: str) -> Run:
        """Run `msgctl audit export` for this practice against this database."""
        return await msgctl(
            "audit", "export", "--practice", self.practice_id, *args,
            THREADS_DATABASE=self.database.name,
        )  # fmt: skip


def chained(practice_id: str, count: int) -> list[dict[str, Any]]:
    """`count` linked records a minute apart, as the threads service stores them."""
    records, prev_hash = [], GENESIS
    for position in range(1, count + 1):
        record: dict[str, Any] = {
            "_id": record_id(practice_id, position),
            "position": position,
            "event_id": str(uuid.uuid4()),
            "at": START + timedelta(minutes=position - 1),
            "practice_id": practice_id,
            "actor_id": unique("p-"),
            "actor_role": "provider",
            "action": "thread.read",
            "resource_type": "thread",
            "resource_id": unique("t-"),
            "thread_id": None,
            "outcome": "ok",
            "request_id": unique("req-"),
            "service": "threads",
            "prev_hash": prev_hash,
        }
        record["hash"] = prev_hash = record_hash(record, prev_hash)
        records.append(record)
    return records


@pytest.fixture
async def chain() -> AsyncIterator[Chain]:
    """A valid chain of RECORDS records, and its head, in a throwaway database."""
    mongo = create_mongo_client(MongoSettings(mongodb_url=infra_env()["mongodb_url"]))
    database = mongo[unique("test_audit_export_")]
    practice_id = unique("pr-")
    records = chained(practice_id, RECORDS)
    await database["audit"].insert_many(records)
    await database["audit_heads"].insert_one(
        {"_id": practice_id, "position": RECORDS, "hash": records[-1]["hash"]}
    )
    try:
        yield Chain(database, practice_id, records)
    finally:
        await mongo.drop_database(database.name)
        await mongo.close()


def lines(text: str) -> list[dict[str, Any]]:
    """The JSON lines of an export."""
    return [json.loads(line) for line in text.splitlines() if line.strip()]


async def test_export_writes_every_record_oldest_first_to_the_file(
    chain: Chain, tmp_path: Path
) -> None:
    out = tmp_path / "audit.jsonl"

    run = await chain.export("--out", str(out))

    assert run.code == 0, run.err
    exported = lines(out.read_text())
    assert [r["position"] for r in exported] == list(range(1, RECORDS + 1))
    assert [r["event_id"] for r in exported] == [r["event_id"] for r in chain.records]
    assert exported[0]["at"] == START.isoformat()
    assert "_id" not in exported[0]
    assert f"exported {RECORDS} records" in run.err


async def test_exported_lines_verify_on_their_own(chain: Chain) -> None:
    run = await chain.export()

    assert run.code == 0, run.err
    exported = lines(run.out)
    assert len(exported) == RECORDS
    assert first_broken_link(exported) is None


async def test_since_and_until_select_a_range_of_an_intact_chain(chain: Chain) -> None:
    since = (START + timedelta(minutes=1)).isoformat()
    until = (START + timedelta(minutes=3)).replace(tzinfo=None).isoformat()  # naive: UTC

    run = await chain.export("--since", since, "--until", until)

    assert run.code == 0, run.err
    assert [r["position"] for r in lines(run.out)] == [2, 3, 4]
    assert f"chain of {RECORDS} verified" in run.err


async def test_a_tampered_record_fails_the_export_at_its_position(
    chain: Chain, tmp_path: Path
) -> None:
    await chain.database["audit"].update_one(
        {"_id": record_id(chain.practice_id, 3)}, {"$set": {"actor_id": "someone-else"}}
    )
    out = tmp_path / "audit.jsonl"

    run = await chain.export("--out", str(out))

    assert run.code == 1
    assert "broken at position 3" in run.err
    assert os.listdir(tmp_path) == []  # no output, no partial file left


async def test_a_deleted_record_fails_the_export_at_its_position(chain: Chain) -> None:
    await chain.database["audit"].delete_one({"_id": record_id(chain.practice_id, 2)})

    run = await chain.export("--since", (START + timedelta(minutes=3)).isoformat())

    assert run.code == 1
    assert "broken at position 2" in run.err
    assert run.out == ""


async def test_a_rewritten_last_record_disagrees_with_the_head(chain: Chain) -> None:
    last = dict(chain.records[-1], outcome="denied")
    last["hash"] = record_hash(last, last["prev_hash"])
    await chain.database["audit"].replace_one({"_id": last["_id"]}, last)

    run = await chain.export()

    assert run.code == 1
    assert f"broken at position {RECORDS}" in run.err


async def test_records_past_the_stored_head_are_exported_and_verified(chain: Chain) -> None:
    # The service stores the head every few records: it names an earlier position.
    head = chain.records[1]
    await chain.database["audit_heads"].replace_one(
        {"_id": chain.practice_id}, {"position": 2, "hash": head["hash"]}
    )

    run = await chain.export()

    assert run.code == 0, run.err
    assert [line["position"] for line in lines(run.out)] == list(range(1, RECORDS + 1))


async def test_a_tampered_record_past_the_stored_head_fails_the_export(chain: Chain) -> None:
    await chain.database["audit_heads"].replace_one(
        {"_id": chain.practice_id}, {"position": 2, "hash": chain.records[1]["hash"]}
    )
    await chain.database["audit"].update_one(
        {"_id": record_id(chain.practice_id, 4)}, {"$set": {"outcome": "denied"}}
    )

    run = await chain.export()

    assert run.code == 1
    assert "broken at position 4" in run.err


async def test_a_practice_without_records_exports_nothing(chain: Chain) -> None:
    run = await msgctl(
        "audit", "export", "--practice", unique("pr-"), THREADS_DATABASE=chain.database.name
    )

    assert run.code == 0, run.err
    assert run.out == ""
    assert "exported 0 records" in run.err


async def test_a_time_that_is_not_iso_is_refused(chain: Chain) -> None:
    run = await chain.export("--since", "yesterday")

    assert run.code == 2
    assert "ISO 8601" in run.err
