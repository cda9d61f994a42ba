"""Blocking service settings."""

from shared.service import InfraSettings


class BlockingSettings(InfraSettings):
    """Configuration of the blocking service."""

    blocking_port: int = 8002
    blocking_database: str = "messaging_blocking"
