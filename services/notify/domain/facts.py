"""Other services' facts as notify keeps them: client addresses and thread read positions."""

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class ClientContact:
    """What notify keeps of a practice's client: the email address and status, never names."""

    client_id: str
    practice_id: str
    email: str | None
    active: bool


@dataclass(frozen=True)
class ReadState:
    """One participant's state of one thread, as the threads service last announced it."""

    thread_id: str
    participant_id: str
    read_seq: int
    unread: bool
    unread_threads: int
    as_of: datetime


@dataclass(frozen=True)
class ReadPosition:
    """What notify knows of one participant in one thread (from the threads service)."""

    read_seq: int = 0
    # The participant's red dot as of the thread's latest state change, if any is known.
    unread_threads: int | None = None

    def still_unread(self, seq: int | None) -> bool:
        """A message is unread while the read position is before it."""
        return seq is None or self.read_seq < seq

    @property
    def badge(self) -> int:
        """The push's unread count: the red dot, and at least the message being pushed."""
        return max(self.unread_threads or 0, 1)
