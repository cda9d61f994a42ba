"""The audit trail's raw facts: who did what to which resource, when, and with what outcome
(HIPAA 164.312(b)). Never message text."""

from typing import ClassVar, Literal

from pydantic import Field

from shared import topics
from shared.events.base import Event

Outcome = Literal["ok", "denied", "not_found"]


class AccessRecorded(Event):
    """One read or write of a thread, message, block, announcement or setting, or a refusal.

    Keyed by practice: the single consumer owning a practice's partition appends these to
    that practice's hash chain, so concurrent services never fork it.
    """

    TOPIC: ClassVar[str] = topics.MESSAGING_AUDIT
    TYPE: ClassVar[str] = "messaging.access.recorded"
    KEY_FIELD: ClassVar[str] = "practice_id"

    event_type: Literal["access_recorded"] = "access_recorded"
    practice_id: str
    actor_id: str
    actor_role: str
    action: str = Field(max_length=100)
    resource_type: str = Field(max_length=50)
    resource_id: str | None = None
    thread_id: str | None = None
    outcome: Outcome = "ok"
    request_id: str | None = None
    service: str = ""
