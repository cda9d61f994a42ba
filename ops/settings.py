"""Where the operations CLI finds the broker, the database and the services."""

from shared.settings import KafkaSettings, MongoSettings

SERVICES = ("threads", "blocking", "announcements", "notify")


class OpsSettings(KafkaSettings, MongoSettings):
    """The broker and database (as the services see them) and each service's base URL."""

    threads_url: str = "http://127.0.0.1:8001"
    blocking_url: str = "http://127.0.0.1:8002"
    announcements_url: str = "http://127.0.0.1:8003"
    notify_url: str = "http://127.0.0.1:8004"
    # The CLI's own records (which dead-lettered records were replayed).
    ops_database: str = "messaging_ops"
    # The threads service's database, which keeps the audit chains (read only).
    threads_database: str = "messaging_threads"

    def service_urls(self) -> dict[str, str]:
        """Base URL of each service, by name."""
        return {name: str(getattr(self, f"{name}_url")).rstrip("/") for name in SERVICES}
