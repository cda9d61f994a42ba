"""Push delivery: a recipient's devices (or a batch of recipients') told through the gateway."""

import logging
from dataclasses import dataclass

from services.notify.domain import Delivery, Outcome, Profile, PushResult
from services.notify.ports import PushPort, ReadStatePort, UsersPort

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class PushDelivery:
    """Sends pushes and forgets the devices the gateway rejects."""

    users: UsersPort
    reads: ReadStatePort
    gateway: PushPort

    async def outcome(self, delivery: Delivery, profile: Profile) -> Outcome:
        """Push to one recipient's devices, with their red dot as the badge."""
        skip = profile.push_skip()
        if skip is not None:
            return skip
        job = delivery.job
        unread = 1  # announcements are not counted in the red dot
        if (thread_id := job.message_thread) is not None:
            unread = (await self.reads.position(thread_id, job.recipient_id)).badge
        result = await self.gateway.send(delivery.push_notification_id, unread, profile.devices)
        return await self._for_recipient(delivery, profile, result)

    async def together(self, batch: list[Delivery], profiles: list[Profile]) -> list[Outcome]:
        """Push several recipients' devices in one gateway request; each one's outcome.

        Only an announcement's pushes go together: they carry no red dot and share one
        opaque id.
        """
        devices = [device for profile in profiles for device in profile.devices]
        result = await self.gateway.send(batch[0].push_notification_id, 1, devices)
        return [
            await self._for_recipient(delivery, profile, result)
            for delivery, profile in zip(batch, profiles, strict=True)
        ]

    async def _for_recipient(
        self, delivery: Delivery, profile: Profile, result: PushResult
    ) -> Outcome:
        outcome, rejected = profile.after_push(result.outcome, result.rejected)
        if rejected:
            removed = await self.users.remove_tokens(delivery.job.recipient_id, rejected)
            log.info(
                "rejected pushkeys removed", extra={"delivery_id": delivery.id, "count": removed}
            )
        return outcome
