"""Announcements domain: entities, rules and domain errors, free of I/O.

`announcements` holds what is sent, stored and read; `deliveries` how far it got with
each recipient, counted exactly once; `errors` the refusals.
"""

from services.announcements.domain.announcements import (
    MAX_RECIPIENTS,
    Announcement,
    Draft,
    InboxItem,
    NewAnnouncement,
    Page,
    Publication,
    Receipt,
    Recipients,
    SentItem,
    Stats,
    announcement_id_for,
    check_all_known,
    check_recipient_count,
    sort_key,
    split_parts,
    unique_in_order,
)
from services.announcements.domain.deliveries import (
    NOTIFY_CHANNELS,
    Counted,
    Counter,
    Outcome,
    Reach,
    Tally,
    count_outcomes,
)
from services.announcements.domain.errors import (
    AnnouncementNotFound,
    DomainError,
    NoRecipients,
    RecipientsRejected,
    TooManyRecipients,
    UnknownRecipients,
)

__all__ = [
    "MAX_RECIPIENTS",
    "NOTIFY_CHANNELS",
    "Announcement",
    "AnnouncementNotFound",
    "Counted",
    "Counter",
    "DomainError",
    "Draft",
    "InboxItem",
    "NewAnnouncement",
    "NoRecipients",
    "Outcome",
    "Page",
    "Publication",
    "Reach",
    "Receipt",
    "Recipients",
    "RecipientsRejected",
    "SentItem",
    "Stats",
    "Tally",
    "TooManyRecipients",
    "UnknownRecipients",
    "announcement_id_for",
    "check_all_known",
    "check_recipient_count",
    "count_outcomes",
    "sort_key",
    "split_parts",
    "unique_in_order",
]
