"""Blocking domain: entities, rules and domain errors, free of I/O."""

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

MAX_BULK = 500


class DomainError(Exception):
    """A rule of the domain refused the request."""


class ClientNotFound(DomainError):
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
    """One provider-client pair as last changed; each change is a new revision."""

    provider_id: str
    client_id: str
    practice_id: str
    blocked: bool
    rev: str
    changed_at: datetime

    @property
    def id(self) -> str:
        """The pair's id (also the compaction key of its events)."""
        return block_id(self.provider_id, self.client_id)

    def belongs_to(self, practice_id: str) -> bool:
        """Whether the pair is one of this practice's (a provider sees no other)."""
        return self.practice_id == practice_id


@dataclass(frozen=True)
class BlockedClient:
    """One entry of a provider's block list."""

    client_id: str
    first_name: str
    last_name: str
    blocked_at: datetime
    sort_key: str

    @classmethod
    def of(cls, client: Client, blocked_at: datetime) -> "BlockedClient":
        """A client as their provider's block list shows them."""
        return cls(
            client.client_id, client.first_name, client.last_name, blocked_at, client.sort_key
        )


@dataclass(frozen=True)
class BlockRequest:
    """Clients a provider asks to block at once: all of them, or none if any is unknown."""

    client_ids: tuple[str, ...]

    @classmethod
    def of(cls, client_ids: Sequence[str]) -> "BlockRequest":
        """The request for these ids, once each, in the order first given."""
        return cls(tuple(dict.fromkeys(client_ids)))

    def clients(self, found: Iterable[Client]) -> list[Client]:
        """The found clients in the order asked; any id not found refuses the whole request."""
        by_id = {c.client_id: c for c in found}
        if any(cid not in by_id for cid in self.client_ids):
            raise ClientNotFound()
        return [by_id[cid] for cid in self.client_ids]

    def to_block(self, clients: Iterable[Client], already: set[str]) -> list[Client]:
        """The clients the request newly blocks: blocking again changes nothing."""
        return [c for c in clients if c.client_id not in already]


@dataclass(frozen=True)
class BlockOutcome:
    """What a block request did: every asked client is blocked, some of them newly."""

    client_ids: list[str]
    newly_blocked: list[str]


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
