"""Threads service settings."""

from shared.service import InfraSettings
from shared.settings import CryptoSettings


class ThreadsSettings(InfraSettings, CryptoSettings):
    """Configuration of the threads service."""

    threads_port: int = 8001
    threads_database: str = "messaging_threads"
