"""HTTP routes of the notify service; they map domain errors to HTTP and nothing more."""

from services.notify.api.me import router as me_router
from services.notify.api.stream import router as stream_router

routers = [me_router, stream_router]
