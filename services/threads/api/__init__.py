"""HTTP routes of the threads service; they map domain errors to HTTP and nothing more."""

from fastapi import APIRouter

from services.threads.api import audit, clients, messages, settings, state, threads
from services.threads.api.errors import install_error_mapping

routers: list[APIRouter] = [
    settings.router,
    clients.router,
    threads.router,
    messages.router,
    state.router,
    audit.router,
]

__all__ = ["install_error_mapping", "routers"]
