"""Liveness and readiness endpoints, without authentication."""

import asyncio
from collections.abc import Awaitable, Callable

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

ReadinessCheck = Callable[[], Awaitable[bool]]

router = APIRouter(tags=["health"])


@router.get("/health/live")
async def live() -> dict[str, str]:
    """The process is up."""
    return {"status": "ok"}


@router.get("/health/ready")
async def ready(request: Request) -> JSONResponse:
    """The broker and the database answer."""
    checks: dict[str, ReadinessCheck] = getattr(request.app.state, "readiness", {})
    results: dict[str, bool] = {}
    for name, check in checks.items():
        try:
            results[name] = await asyncio.wait_for(check(), timeout=3)
        except Exception:
            results[name] = False
    ok = bool(results) and all(results.values())
    return JSONResponse(
        {"status": "ready" if ok else "unavailable", "checks": results},
        status_code=200 if ok else 503,
    )
