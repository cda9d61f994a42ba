"""The base every Kafka event derives from."""

from datetime import datetime
from typing import ClassVar
from uuid import UUID, uuid4

from pydantic import BaseModel, ConfigDict, Field

from shared.clock import utcnow


class Event(BaseModel):
    """An immutable fact with an id, a time and a schema version.

    Subclasses name their topic, their CloudEvents type and the field that keys them.
    Consumers ignore unknown fields so producers may add optional ones within a version.
    """

    model_config = ConfigDict(frozen=True, extra="ignore")

    TOPIC: ClassVar[str]
    TYPE: ClassVar[str]
    KEY_FIELD: ClassVar[str]

    event_id: UUID = Field(default_factory=uuid4)
    occurred_at: datetime = Field(default_factory=utcnow)
    schema_version: int = 1

    def key(self) -> str:
        """The Kafka key: events sharing it stay in order."""
        return str(getattr(self, self.KEY_FIELD))
