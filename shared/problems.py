"""RFC 9457 problem details for every error a service answers."""

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pymongo.errors import ConnectionFailure
from starlette.exceptions import HTTPException as StarletteHTTPException

log = logging.getLogger(__name__)

PROBLEM_JSON = "application/problem+json"


class Problem(Exception):
    """An error with an HTTP status and a machine-readable code."""

    def __init__(
        self,
        status: int,
        code: str,
        title: str,
        detail: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(title)
        self.status = status
        self.code = code
        self.title = title
        self.detail = detail or title
        self.headers = headers


def not_found(what: str = "resource") -> Problem:
    """The answer for anything missing or not visible to the caller (never 403)."""
    return Problem(404, "not_found", "Not found", f"No such {what}.")


def problem_response(
    status: int, code: str, title: str, detail: str, instance: str, **extra: Any
) -> JSONResponse:
    """A problem+json response."""
    body = {
        "type": f"https://errors.messaging.invalid/{code}",
        "title": title,
        "status": status,
        "detail": detail,
        "code": code,
        "instance": instance,
        **extra,
    }
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON)


_HTTP_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    415: "unsupported_media_type",
    422: "validation_failed",
    429: "too_many_requests",
}


def install_problem_handlers(app: FastAPI) -> None:
    """Make every error, including FastAPI's own, answer as problem details."""

    @app.exception_handler(Problem)
    async def _problem(request: Request, exc: Problem) -> JSONResponse:
        response = problem_response(exc.status, exc.code, exc.title, exc.detail, request.url.path)
        if exc.headers:
            response.headers.update(exc.headers)
        return response

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        # Never echo the submitted input: it may be a message body (PHI).
        errors = [
            {"loc": list(e.get("loc", ())), "msg": e.get("msg", ""), "type": e.get("type", "")}
            for e in exc.errors()
        ]
        return problem_response(
            422,
            "validation_failed",
            "Request is not valid",
            "The request body or parameters failed validation.",
            request.url.path,
            errors=errors,
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = _HTTP_CODES.get(exc.status_code, "error")
        title = code.replace("_", " ").capitalize()
        detail = exc.detail if isinstance(exc.detail, str) else title
        response = problem_response(exc.status_code, code, title, detail, request.url.path)
        if exc.headers:
            response.headers.update(exc.headers)
        return response

    @app.exception_handler(ConnectionFailure)
    async def _database_unavailable(request: Request, exc: ConnectionFailure) -> JSONResponse:
        # The database does not answer: nothing was half-written (every change is one
        # single-document write, recovered through the outbox), so the caller may retry.
        log.warning("database unavailable", extra={"path": request.url.path})
        response = problem_response(
            503,
            "unavailable",
            "Service unavailable",
            "The service cannot reach its database right now; retry shortly.",
            request.url.path,
        )
        response.headers["Retry-After"] = "5"
        return response

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.error("unhandled error", extra={"path": request.url.path}, exc_info=exc)
        return problem_response(
            500, "internal_error", "Internal error", "Something went wrong.", request.url.path
        )
