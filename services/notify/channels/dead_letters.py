"""Jobs that could not be delivered within the retry window go to the jobs' dead-letter topic."""

from faststream.kafka import KafkaBroker

from services.notify.domain import Delivery
from services.notify.events import parked_job
from shared import topics


class DeadLetters:
    """Publishes a failed delivery's job to `messaging.notifications.v1.dlq` with the error."""

    def __init__(self, broker: KafkaBroker) -> None:
        self._broker = broker

    async def park(self, delivery: Delivery, error: str) -> None:
        """Park the job with the channel, attempts and error in headers."""
        event = parked_job(delivery)
        await self._broker.publish(
            event.model_dump(mode="json"),
            topic=topics.dlq(topics.MESSAGING_NOTIFICATIONS),
            key=event.key().encode(),
            headers={
                "dlq_error": error[:500],
                "dlq_error_type": "DeliveryFailed",
                "dlq_topic": topics.MESSAGING_NOTIFICATIONS,
                "dlq_channel": delivery.channel,
                "dlq_delivery_id": delivery.id,
                "dlq_attempts": str(delivery.attempts + 1),
                "content-type": "application/json",
            },
        )
