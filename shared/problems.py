"""RFC 9457 problem details for every error a service answers."""

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
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


@dataclass(frozen=True)
class ProblemSpec:
    """How one domain error answers: status, code, title and a detail that never echoes input.

    `code` and `detail` may be functions of the error, for errors that carry their reason.
    """

    status: int
    code: str | Callable[[Exception], str]
    title: str
    detail: str | Callable[[Exception], str]
    headers: Callable[[Exception], dict[str, str]] | None = None


def install_domain_errors(
    app: FastAPI, table: Mapping[type[Exception], ProblemSpec], base: type[Exception] = Exception
) -> None:
    """Answer each service's domain errors as problems, from its table (the one mechanism).

    Errors are matched by class, most specific first; `base` limits which exceptions the
    handler sees (one handler per table class otherwise).
    """

    def lookup(kind: type[Exception]) -> ProblemSpec | None:
        for klass in kind.__mro__:
            if klass in table:
                return table[klass]
        return None

    async def answer(request: Request, exc: Exception) -> JSONResponse:
        spec = lookup(type(exc))
        if spec is None:
            return problem_response(
                400, "bad_request", "Bad request", "The request was refused.", request.url.path
            )
        code = spec.code(exc) if callable(spec.code) else spec.code
        detail = spec.detail(exc) if callable(spec.detail) else spec.detail
        response = problem_response(spec.status, code, spec.title, detail, request.url.path)
        if spec.headers is not None:
            response.headers.update(spec.headers(exc))
        return response

    for klass in {base} if base is not Exception else set(table):
        app.add_exception_handler(klass, answer)  # type: ignore[arg-type]


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
