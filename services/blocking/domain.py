"""Blocking domain: entities and rules, free of I/O."""

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

MAX_BULK = 500


class ClientNotFound(Exception):
    """A client that does not exist in the provider's practice (or is not theirs to see)."""


@dataclass(frozen=True)
class Client:
    """A client of a practice, as the practice's systems describe them."""

    client_id: str
    practice_id: str
    first_name: str
    last_name: str
    active: bool

    @property
    def sort_key(self) -> str:
        """Position in name order: last name, first name, then id for ties."""
        return name_sort_key(self.first_name, self.last_name, self.client_id)

    @property
    def search_text(self) -> str:
        """Lower-cased text a name query matches: "first last" and "last first"."""
        return f"{self.first_name} {self.last_name}\n{self.last_name} {self.first_name}".lower()


@dataclass(frozen=True)
class Block:
    """The state of one provider-client pair."""

    provider_id: str
    client_id: str
    practice_id: str
    blocked: bool


@dataclass(frozen=True)
class BlockedClient:
    """One entry of a provider's block list."""

    client_id: str
    first_name: str
    last_name: str
    blocked_at: datetime
    sort_key: str


def block_id(provider_id: str, client_id: str) -> str:
    """The id of a pair's block document (also the compaction key of its events)."""
    return f"{provider_id}:{client_id}"


def name_sort_key(first_name: str, last_name: str, client_id: str) -> str:
    """Sort key by last name, first name, then id so that keys are unique."""
    return f"{last_name.lower()}\x00{first_name.lower()}\x00{client_id}"


def normalize_query(query: str | None) -> str | None:
    """A name query in the form search text is stored in, or None for "everything"."""
    if query is None:
        return None
    words = query.lower().split()
    return " ".join(words) if words else None


def distinct(ids: Sequence[str]) -> list[str]:
    """The ids once each, in the order first given."""
    return list(dict.fromkeys(ids))


def require_all_found(wanted: Sequence[str], found: Iterable[Client]) -> list[Client]:
    """The found clients in the order wanted; any missing id refuses the whole request."""
    by_id = {c.client_id: c for c in found}
    if any(cid not in by_id for cid in wanted):
        raise ClientNotFound()
    return [by_id[cid] for cid in wanted]
