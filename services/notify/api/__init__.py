"""HTTP routes of the notify service; domain errors answer through its PROBLEMS table."""

from services.notify.api.errors import install_error_mapping
from services.notify.api.me import router as me_router
from services.notify.api.stream import router as stream_router

routers = [me_router, stream_router]

__all__ = ["install_error_mapping", "routers"]
