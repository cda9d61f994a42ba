"""Threads domain: entities and rules, free of I/O."""

from dataclasses import dataclass


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
        return f"{self.last_name.lower()}\x00{self.first_name.lower()}\x00{self.client_id}"
