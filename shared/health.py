"""Liveness and readiness endpoints, without authentication."""

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

ReadinessCheck = Callable[[], Awaitable[bool]]
# Something reported in the readiness body without deciding it (a state or a count).
Report = Callable[[], Awaitable[Any]]

router = APIRouter(tags=["health"])


@router.get("/health/live")
async def live() -> dict[str, str]:
    """The process is up."""
    return {"status": "ok"}


@router.get("/health/ready")
async def ready(request: Request) -> JSONResponse:
    """Whether the service can serve: its database answers (and its consumers run).

    The broker's state and the outbox backlog are reported but do not decide: writes go on
    through the outbox while the broker is away, so the service stays in rotation.
    """
    checks: dict[str, ReadinessCheck] = getattr(request.app.state, "readiness", {})
    reports: dict[str, Report] = getattr(request.app.state, "reports", {})
    results = {name: await _answer(check) for name, check in checks.items()}
    reported = {name: await _answer(report) for name, report in reports.items()}
    ok = bool(results) and all(results.values())
    return JSONResponse(
        {"status": "ready" if ok else "unavailable", "checks": results, "reports": reported},
        status_code=200 if ok else 503,
    )


async def _answer(check: Callable[[], Awaitable[Any]]) -> Any:
    try:
        return await asyncio.wait_for(check(), timeout=3)
    except Exception:
        return False
