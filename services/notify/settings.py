"""Notify service settings."""

import socket

from pydantic import Field

from shared.service import InfraSettings
from shared.settings import PushSettings, SmtpSettings


class NotifySettings(InfraSettings, SmtpSettings, PushSettings):
    """Configuration of the notify service."""

    notify_port: int = 8004
    notify_database: str = "messaging_notify"
    # This instance's stable name: it owns its queued work under it (a restart takes that
    # work back at once) and names its live-stream consumer groups, which therefore resume
    # where the previous run stopped. Every running process needs its own: the host name
    # serves one process per host; set it when a host runs several (or per StatefulSet pod).
    notify_instance_id: str = Field(default_factory=socket.gethostname, min_length=1)
    # An email for a direct message goes out only if it is still unread after this delay.
    notify_email_delay_seconds: float = Field(default=900, ge=0)
    # A failing delivery is retried with backoff for at most this long, then marked failed.
    notify_retry_max_seconds: float = Field(default=300, gt=0)
    notify_retry_base_seconds: float = Field(default=1.0, gt=0)
    notify_link_base_url: str = "https://portal.messaging.invalid"
    notify_heartbeat_seconds: float = Field(default=15, gt=0)
    # Queued work runs on in-process timers. Instances renew a heartbeat every quarter lease
    # and take over the work of one whose heartbeat ran out at once; besides, this slow
    # backstop sweep reads the whole queue (open work only) for work nobody holds.
    notify_sweep_interval_seconds: float = Field(default=900, gt=0)
    # Queued work belongs to its owner this long past its due time, and an instance counts
    # as alive this long after its last heartbeat; then another may take its work over.
    notify_lease_seconds: float = Field(default=120, gt=0)
    # Work due later than this (a direct message's email) is parked without a timer of its
    # own, and looked up again by `_id` once it is due within this horizon.
    notify_timer_horizon_seconds: float = Field(default=60, gt=0)
    notify_send_timeout_seconds: float = Field(default=10, gt=0)
    # On a graceful stop, attempts in flight get this long to finish; the rest are released
    # at once for another instance (or the next start) to deliver, without waiting for a lease.
    notify_shutdown_grace_seconds: float = Field(default=5, ge=0)
    # Delivery workers per process (the jobs topic has 12 partitions; keep this at most that).
    # Jobs are direct messages only (a few lookups each; attempts run beside the workers).
    notify_delivery_consumers: int = Field(default=2, ge=1, le=12)
    # Deliveries attempted at once by one process, over one pooled keep-alive HTTP client
    # (the gateway and SMTP server see no more connections than this).
    notify_send_concurrency: int = Field(default=64, ge=1)
    # An announcement's pushes go to the gateway this many recipients to a request (their
    # devices in one notification, which carries no content, only an opaque id per
    # announcement); 1 sends each recipient's push on its own.
    notify_push_batch_size: int = Field(default=50, ge=1, le=500)
    # Live events kept per user for replay after a reconnect.
    notify_live_retention: int = Field(default=200, ge=1)
