"""Key rotation: re-wrap every stored data key under the active key-encryption key.

python -m ops.keys status    how many sealed values each key id wraps
python -m ops.keys rewrap    re-wrap those under other keys with the active one

Rotating a key-encryption key while the services run:
1. Add the new key to `MESSAGING_ENCRYPTION_KEYS` of every instance and make it
   `MESSAGING_ENCRYPTION_ACTIVE_KEY` (a rolling restart). New bodies are sealed under it;
   old ones still open with the key they name.
2. Once every instance runs with the new active key, run `rewrap` with the same keys. Each
   sealed value's data key is unwrapped with its old key and wrapped again with the active
   one; the body's ciphertext stays as it is. Documents are updated one by one by `_id`.
   The sealed collections are insert-only, so this write never races a service's.
3. When `status` shows nothing under the old key (`rewrap` exits 0 only then), remove the
   old key from the ring (another rolling restart).

This is an operations command: it scans the sealed collections, which no request does.
Running it twice is harmless: values already under the active key are left alone.
"""

import argparse
import asyncio
import sys
from collections import Counter
from dataclasses import dataclass
from typing import Any

from shared.crypto import EnvelopeCipher
from shared.mongo import create_mongo_client, update_each
from shared.settings import CryptoSettings, MongoSettings

BATCH = 200
# A pass re-wraps what it finds; another pass catches values sealed meanwhile by an
# instance that still had the old key active.
MAX_PASSES = 3


class KeysSettings(MongoSettings, CryptoSettings):
    """The key ring and where the services keep sealed values (the services' own names)."""

    threads_database: str = "messaging_threads"
    announcements_database: str = "messaging_announcements"


@dataclass(frozen=True)
class Sealed:
    """A collection whose documents carry sealed values, and what each is bound to."""

    service: str
    collection: str
    fields: tuple[str, ...]
    aad_field: str

    @property
    def label(self) -> str:
        """How reports name it."""
        return f"{self.service}.{self.collection}"


# Message bodies are bound to their message id; an announcement's texts to its id.
SEALED = (
    Sealed("threads", "messages", ("body_sealed",), "message_id"),
    Sealed("announcements", "announcements", ("body", "subject"), "_id"),
)


def _database(settings: KeysSettings, service: str) -> str:
    name: str = getattr(settings, f"{service}_database")
    return name


def _under_other_keys(spec: Sealed, active: str) -> dict[str, Any]:
    """Documents with a sealed value whose key id is neither the active one nor absent."""
    return {"$or": [{f"{field}.kid": {"$nin": [active, None]}} for field in spec.fields]}


async def rewrap_collection(collection: Any, spec: Sealed, cipher: EnvelopeCipher) -> int:
    """One pass over a collection; how many sealed values it re-wrapped."""
    projection = {field: 1 for field in (*spec.fields, spec.aad_field)}
    pending: list[tuple[dict[str, Any], dict[str, Any]]] = []
    values = 0
    cursor = collection.find(_under_other_keys(spec, cipher.active_kid), projection)
    async for doc in cursor:
        aad = str(doc[spec.aad_field])
        changes = {
            field: cipher.rewrap(doc[field], aad=aad)
            for field in spec.fields
            if doc.get(field) and cipher.needs_rewrap(doc[field])
        }
        if changes:
            pending.append(({"_id": doc["_id"]}, {"$set": changes}))
            values += len(changes)
        if len(pending) >= BATCH:
            await update_each(collection, pending)
            pending = []
    if pending:
        await update_each(collection, pending)
    return values


async def key_counts(collection: Any, spec: Sealed) -> Counter[str]:
    """How many sealed values of a collection each key id wraps."""
    counts: Counter[str] = Counter()
    async for doc in collection.find({}, {field: 1 for field in spec.fields}):
        for field in spec.fields:
            if doc.get(field):
                counts[str(doc[field]["kid"])] += 1
    return counts


async def status(settings: KeysSettings) -> dict[str, Counter[str]]:
    """Sealed values per key id, per collection."""
    mongo = create_mongo_client(settings)
    try:
        return {
            spec.label: await key_counts(
                mongo[_database(settings, spec.service)][spec.collection], spec
            )
            for spec in SEALED
        }
    finally:
        await mongo.close()


async def rewrap(settings: KeysSettings) -> dict[str, int]:
    """Re-wrap every sealed value under the active key; values re-wrapped per collection."""
    cipher = EnvelopeCipher.from_settings(settings)
    mongo = create_mongo_client(settings)
    done: Counter[str] = Counter()
    try:
        for spec in SEALED:
            collection = mongo[_database(settings, spec.service)][spec.collection]
            for _ in range(MAX_PASSES):
                found = await rewrap_collection(collection, spec, cipher)
                done[spec.label] += found
                if not found:
                    break
        return dict(done)
    finally:
        await mongo.close()


def _remaining(counts: dict[str, Counter[str]], active: str) -> int:
    return sum(n for per_kid in counts.values() for kid, n in per_kid.items() if kid != active)


def main(argv: list[str] | None = None) -> int:
    """Run `status` or `rewrap`; exit 0 when nothing is left under another key."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("command", choices=["status", "rewrap"])
    args = parser.parse_args(argv)
    settings = KeysSettings()  # type: ignore[call-arg]
    active = settings.messaging_encryption_active_key
    if args.command == "rewrap":
        for label, values in asyncio.run(rewrap(settings)).items():
            print(f"{label}: {values} sealed values re-wrapped under {active}")
    counts = asyncio.run(status(settings))
    for label, per_kid in counts.items():
        listed = ", ".join(f"{kid}: {n}" for kid, n in sorted(per_kid.items())) or "none"
        print(f"{label}: {listed}")
    remaining = _remaining(counts, active)
    print(f"{remaining} sealed values under keys other than the active key {active}")
    return 0 if remaining == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
