"""Domain errors: the rules of notify refusing a request."""


class DomainError(Exception):
    """A rule of the domain refused the request."""


class DeviceNotFound(DomainError):
    """The caller has no device with that id."""


class TooManyDevices(DomainError):
    """The user already has as many devices as allowed."""
