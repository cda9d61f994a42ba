"""Domain errors as problem details, and the caller as a thread participant."""

from fastapi import FastAPI

from services.threads import domain
from services.threads.handlers.settings import InvalidDisplayName
from shared.auth import Caller, Role, require_role
from shared.problems import ProblemSpec, install_domain_errors

PROBLEMS: dict[type[Exception], ProblemSpec] = {
    domain.ThreadNotFound: ProblemSpec(404, "not_found", "Not found", "No such thread."),
    domain.ClientNotFound: ProblemSpec(
        404,
        "client_not_found",
        "Client not found",
        "No such client in your practice.",
    ),
    domain.ProviderNotFound: ProblemSpec(
        404,
        "not_found",
        "Not found",
        "No such provider in your practice.",
    ),
    domain.ClientInactive: ProblemSpec(
        422,
        "client_inactive",
        "Client inactive",
        "A new conversation cannot be started with an inactive client.",
    ),
    domain.MessagingDisabled: ProblemSpec(
        403,
        "messaging_disabled",
        "Messaging disabled",
        "Secure messaging is turned off for this practice.",
    ),
    domain.SenderBlocked: ProblemSpec(
        403,
        "blocked",
        "Blocked",
        "This provider does not accept direct messages from you.",
    ),
    domain.NotPracticeAdmin: ProblemSpec(
        403,
        "forbidden",
        "Forbidden",
        "Only a provider who is a practice admin may change this setting.",
    ),
    domain.InvalidMessageBody: ProblemSpec(
        422,
        "invalid_body",
        "Invalid message",
        "A message needs 1 to 10,000 characters and not only whitespace.",
    ),
    InvalidDisplayName: ProblemSpec(
        422,
        "invalid_display_name",
        "Invalid display name",
        "A display name needs 1 to 100 characters.",
    ),
    domain.SequenceContention: ProblemSpec(
        503,
        "busy",
        "Busy",
        "The conversation is very busy; retry with the same client_message_id.",
    ),
}


def install_error_mapping(app: FastAPI) -> None:
    """Answer domain errors as problem details (details never echo input)."""
    install_domain_errors(app, PROBLEMS, base=domain.DomainError)


def participant(caller: Caller) -> domain.Participant:
    """The caller as a provider or client of their practice (others get 403)."""
    require_role(caller, Role.PROVIDER, Role.CLIENT)
    role: domain.Role = "provider" if caller.role is Role.PROVIDER else "client"
    return domain.Participant(id=caller.id, role=role, practice_id=caller.practice_id)
