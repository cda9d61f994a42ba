"""Announcements service settings."""

from pydantic import Field

from services.announcements.domain import MAX_RECIPIENTS
from shared.events.announcements import RECIPIENTS_PER_PART
from shared.ratelimit import Rate
from shared.service import InfraSettings
from shared.settings import CryptoSettings


class AnnouncementsSettings(InfraSettings, CryptoSettings):
    """Configuration of the announcements service."""

    announcements_port: int = 8003
    announcements_database: str = "messaging_announcements"
    announcements_max_recipients: int = Field(default=MAX_RECIPIENTS, ge=1, le=MAX_RECIPIENTS)
    # Recipient ids per AnnouncementPublished part; the contract caps it.
    announcements_recipients_per_part: int = Field(
        default=RECIPIENTS_PER_PART, ge=1, le=RECIPIENTS_PER_PART
    )
    # How long an announcement may stay pending before the relay republishes it.
    announcements_outbox_grace_seconds: float = Field(default=5.0, ge=0)
    # Announcements per practice and hour (all at once at most); 0 = off.
    rate_limit_announcements_per_hour: int = Field(default=20, ge=0)

    def announcement_rate(self) -> Rate:
        """The per-practice limit on sending announcements."""
        count = self.rate_limit_announcements_per_hour
        return Rate(count, 3600.0, count)
