"""Domain errors as problem details: the service's table, installed on the one shared mechanism."""

from fastapi import FastAPI

from services.notify import domain
from shared.problems import ProblemSpec, install_domain_errors

PROBLEMS: dict[type[Exception], ProblemSpec] = {
    # Another user's device does not exist for the caller (never 403).
    domain.DeviceNotFound: ProblemSpec(404, "not_found", "Not found", "No such device."),
    domain.TooManyDevices: ProblemSpec(
        409,
        "too_many_devices",
        "Too many devices",
        f"At most {domain.MAX_DEVICES_PER_USER} devices per user; remove one first.",
    ),
}


def install_error_mapping(app: FastAPI) -> None:
    """Answer domain errors as problem details (details never echo input)."""
    install_domain_errors(app, PROBLEMS, base=domain.DomainError)
