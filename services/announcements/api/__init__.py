"""HTTP routes of the announcements service; they map domain errors to HTTP and nothing more."""

from fastapi import APIRouter

from services.announcements.api import clients, providers
from services.announcements.api.errors import install_error_mapping

routers: list[APIRouter] = [providers.router, clients.router]

__all__ = ["install_error_mapping", "routers"]
