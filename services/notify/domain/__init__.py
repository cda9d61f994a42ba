"""Notify domain: jobs, deliveries and their outcomes, retry timing, users' devices and
preferences, open work and its leases, and domain errors; free of I/O.

The names are gathered here so callers import them from one place; each rule lives in
the module its responsibility names.
"""

from services.notify.domain.deliveries import (
    EMAIL_SUBJECT,
    FINAL_STATUSES,
    Channel,
    Close,
    Delivery,
    FinalStatus,
    GiveUp,
    Job,
    Retry,
    Role,
    Source,
    Step,
    delivery_id,
    email_body,
    email_record,
    inbox_record,
    new_delivery,
    push_record,
)
from services.notify.domain.errors import DeviceNotFound, DomainError, TooManyDevices
from services.notify.domain.facts import ClientContact, ReadPosition, ReadState
from services.notify.domain.live import LiveEvent
from services.notify.domain.outcomes import (
    Outcome,
    Permanent,
    PushResult,
    RetryPolicy,
    Sent,
    Skipped,
    Transient,
)
from services.notify.domain.users import (
    MAX_DEVICES_PER_USER,
    Device,
    Platform,
    Preferences,
    Profile,
)
from services.notify.domain.work import ORPHAN_GRACE, Attempt, Kind, Part, QueueEntry, part_entry_id

__all__ = [
    "EMAIL_SUBJECT",
    "FINAL_STATUSES",
    "MAX_DEVICES_PER_USER",
    "ORPHAN_GRACE",
    "Attempt",
    "Channel",
    "ClientContact",
    "Close",
    "Delivery",
    "Device",
    "DeviceNotFound",
    "DomainError",
    "FinalStatus",
    "GiveUp",
    "Job",
    "Kind",
    "LiveEvent",
    "Outcome",
    "Part",
    "Permanent",
    "Platform",
    "Preferences",
    "Profile",
    "PushResult",
    "QueueEntry",
    "ReadPosition",
    "ReadState",
    "Retry",
    "RetryPolicy",
    "Role",
    "Sent",
    "Skipped",
    "Source",
    "Step",
    "TooManyDevices",
    "Transient",
    "delivery_id",
    "email_body",
    "email_record",
    "inbox_record",
    "new_delivery",
    "part_entry_id",
    "push_record",
]
