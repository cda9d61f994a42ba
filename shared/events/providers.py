"""Events that practice systems publish about their providers (`practice.providers.v1`)."""

from typing import ClassVar, Literal

from pydantic import Field

from shared import topics
from shared.events.base import Event


class ProviderRecordChanged(Event):
    """A practice system's current record of one provider (compacted by provider_id)."""

    TOPIC: ClassVar[str] = topics.PRACTICE_PROVIDERS
    TYPE: ClassVar[str] = "practice.provider.changed"
    KEY_FIELD: ClassVar[str] = "provider_id"

    practice_id: str = Field(min_length=1, max_length=200)
    provider_id: str = Field(min_length=1, max_length=200)
    status: Literal["active", "inactive"] = "active"
