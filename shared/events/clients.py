"""Events that practice systems publish about their clients (`practice.clients.v1`)."""

from typing import ClassVar, Literal

from pydantic import Field

from shared import topics
from shared.events.base import Event


class ClientRecordChanged(Event):
    """A practice system's current record of one client (compacted by client_id)."""

    TOPIC: ClassVar[str] = topics.PRACTICE_CLIENTS
    TYPE: ClassVar[str] = "practice.client.changed"
    KEY_FIELD: ClassVar[str] = "client_id"

    practice_id: str = Field(min_length=1, max_length=200)
    client_id: str = Field(min_length=1, max_length=200)
    first_name: str = Field(min_length=1, max_length=200)
    last_name: str = Field(min_length=1, max_length=200)
    email: str | None = Field(default=None, max_length=320)
    status: Literal["active", "inactive"] = "active"
