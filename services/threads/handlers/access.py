"""Recording accesses to threads and messages in the audit trail (who, what, when, outcome)."""

from dataclasses import dataclass
from uuid import UUID

from services.threads.domain import Participant
from shared.audit import AuditTrail
from shared.events.audit import AccessRecorded, Outcome
from shared.ids import stable_uuid
from shared.outbox import Document


@dataclass(frozen=True)
class AccessLog:
    """The threads service's side of the audit trail."""

    trail: AuditTrail

    def event(
        self,
        who: Participant,
        action: str,
        thread_id: str | None,
        *,
        outcome: Outcome = "ok",
        event_id: UUID | None = None,
    ) -> AccessRecorded:
        """The record of one access by a participant."""
        return self.trail.event(
            practice_id=who.practice_id,
            actor_id=who.id,
            actor_role=who.role,
            action=action,
            resource_type="thread",
            resource_id=thread_id,
            thread_id=thread_id,
            outcome=outcome,
            event_id=event_id,
        )

    async def record(
        self, who: Participant, action: str, thread_id: str | None, *, outcome: Outcome = "ok"
    ) -> None:
        """Publish the record of one access."""
        await self.trail.record(
            practice_id=who.practice_id,
            actor_id=who.id,
            actor_role=who.role,
            action=action,
            resource_type="thread",
            resource_id=thread_id,
            thread_id=thread_id,
            outcome=outcome,
        )

    def sent(self, doc: Document) -> AccessRecorded:
        """The record of a stored message, derived from it (the same after a recovery)."""
        event = self.trail.event(
            practice_id=doc["practice_id"],
            actor_id=doc["sender_id"],
            actor_role=doc["sender_role"],
            action="message.send",
            resource_type="message",
            resource_id=doc["message_id"],
            thread_id=doc["thread_id"],
            event_id=stable_uuid(doc["message_id"], "audit"),
        )
        return event.model_copy(update={"occurred_at": doc["created_at"]})
