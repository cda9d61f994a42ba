"""Threads service settings."""

from pydantic import Field

from shared.ratelimit import Rate
from shared.service import InfraSettings
from shared.settings import CryptoSettings


class ThreadsSettings(InfraSettings, CryptoSettings):
    """Configuration of the threads service."""

    threads_port: int = 8001
    threads_database: str = "messaging_threads"
    # Sends per user: this many a minute on average, bursts of up to the burst; 0 = off.
    rate_limit_sends_per_minute: int = Field(default=120, ge=0)
    rate_limit_sends_burst: int = Field(default=30, ge=0)

    def send_rate(self) -> Rate:
        """The per-user limit on sending messages."""
        return Rate(self.rate_limit_sends_per_minute, 60.0, self.rate_limit_sends_burst)
