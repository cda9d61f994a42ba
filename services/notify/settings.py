"""Notify service settings."""

from pydantic import Field

from shared.service import InfraSettings
from shared.settings import PushSettings, SmtpSettings


class NotifySettings(InfraSettings, SmtpSettings, PushSettings):
    """Configuration of the notify service."""

    notify_port: int = 8004
    notify_database: str = "messaging_notify"
    # An email for a direct message goes out only if it is still unread after this delay.
    notify_email_delay_seconds: float = Field(default=900, ge=0)
    # A failing delivery is retried with backoff for at most this long, then marked failed.
    notify_retry_max_seconds: float = Field(default=300, gt=0)
    notify_retry_base_seconds: float = Field(default=1.0, gt=0)
    notify_link_base_url: str = "https://portal.messaging.invalid"
    notify_heartbeat_seconds: float = Field(default=15, gt=0)
    # How often the scheduler looks for due deliveries (delayed emails, retries, takeovers).
    notify_scheduler_interval_seconds: float = Field(default=1.0, gt=0)
    # A claimed delivery belongs to its claimant this long; then another instance may take over.
    notify_lease_seconds: float = Field(default=120, gt=0)
    notify_send_timeout_seconds: float = Field(default=10, gt=0)
    # Delivery workers per process (the jobs topic has 12 partitions; keep this at most that).
    notify_delivery_consumers: int = Field(default=4, ge=1, le=12)
    # Deliveries attempted at once by one process (the gateway and SMTP server see no more).
    notify_send_concurrency: int = Field(default=8, ge=1)
    # Live events kept per user for replay after a reconnect.
    notify_live_retention: int = Field(default=200, ge=1)
