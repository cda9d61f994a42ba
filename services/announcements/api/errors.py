"""Domain errors as problem details: the service's table, installed by the shared mechanism."""

from fastapi import FastAPI

from services.announcements import domain
from shared.problems import ProblemSpec, install_domain_errors

# Any other refusal of the recipients (none is raised today); its detail is kept generic.
_INVALID_RECIPIENTS = "The recipients are not valid."

PROBLEMS: dict[type[Exception], ProblemSpec] = {
    domain.UnknownRecipients: ProblemSpec(
        422,
        "unknown_recipients",
        "Invalid recipients",
        "Some recipients are not clients of your practice.",
    ),
    domain.NoRecipients: ProblemSpec(
        422, "no_recipients", "Invalid recipients", "The announcement has no recipients."
    ),
    domain.TooManyRecipients: ProblemSpec(
        422,
        "too_many_recipients",
        "Invalid recipients",
        "The announcement has more recipients than allowed.",
    ),
    domain.RecipientsRejected: ProblemSpec(
        422, "invalid_recipients", "Invalid recipients", _INVALID_RECIPIENTS
    ),
    domain.AnnouncementNotFound: ProblemSpec(
        404, "not_found", "Not found", "No such announcement."
    ),
}


def install_error_mapping(app: FastAPI) -> None:
    """Answer domain errors as problem details (details never echo input)."""
    install_domain_errors(app, PROBLEMS, base=domain.DomainError)
