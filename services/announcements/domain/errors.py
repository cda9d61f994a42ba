"""Domain errors of announcements: the rules that refuse a request."""


class DomainError(Exception):
    """A rule of the domain refused the request."""


class RecipientsRejected(DomainError):
    """The chosen recipients cannot receive this announcement."""


class UnknownRecipients(RecipientsRejected):
    """Some chosen ids are not clients of the author's practice (which ones is not said)."""


class NoRecipients(RecipientsRejected):
    """The recipients resolve to nobody."""


class TooManyRecipients(RecipientsRejected):
    """More recipients than one announcement may have."""


class AnnouncementNotFound(DomainError):
    """No such announcement, or the caller may not see it."""
