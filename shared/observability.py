"""Structured JSON logs with a correlation id; never message text, tokens or emails."""

import json
import logging
import sys
from contextvars import ContextVar
from typing import Any

correlation_id: ContextVar[str | None] = ContextVar("correlation_id", default=None)

# Standard record attributes, and uvicorn's colored duplicate of its message template.
_RESERVED = set(logging.LogRecord("", 0, "", 0, "", None, None).__dict__) | {
    "message",
    "color_message",
}
MAX_EXCEPTION_CHAIN = 10


class JsonFormatter(logging.Formatter):
    """One JSON object per line, with the correlation id and any `extra` fields.

    Exceptions are logged by type only: never their text or traceback, which may quote data.
    A message that quotes an exception (as uvicorn's, FastStream's and asyncio's do) has that
    text replaced, and exceptions passed as arguments are shown by type.
    """

    def format(self, record: logging.LogRecord) -> str:
        payload: dict[str, Any] = {
            "ts": self.formatTime(record, "%Y-%m-%dT%H:%M:%S%z"),
            "level": record.levelname,
            "logger": record.name,
            "msg": _message(record),
        }
        if cid := correlation_id.get():
            payload["correlation_id"] = cid
        payload.update({k: _safe(v) for k, v in record.__dict__.items() if k not in _RESERVED})
        if record.name == "uvicorn.access":
            payload.update(_access(record))
        if record.exc_info and record.exc_info[0] is not None:
            payload["exc_type"] = record.exc_info[0].__name__
        return json.dumps(payload, default=str)


def _safe(value: object) -> object:
    return type(value).__name__ if isinstance(value, BaseException) else value


def _message(record: logging.LogRecord) -> str:
    if record.name == "uvicorn.access":
        return "request"  # its fields come from _access
    args = record.args
    if isinstance(args, tuple):
        args = tuple(_safe(a) for a in args)
    try:
        message = str(record.msg) % args if args else str(record.msg)
    except (TypeError, ValueError):
        message = str(record.msg)
    return _without_exception_text(message, record.exc_info[1] if record.exc_info else None)


def _without_exception_text(message: str, error: BaseException | None) -> str:
    """The message with the text of the exception (and its causes) replaced by their types."""
    for _ in range(MAX_EXCEPTION_CHAIN):
        if error is None:
            break
        for text in (repr(error), str(error)):
            if text:
                message = message.replace(text, f"<{type(error).__name__}>")
        error = error.__cause__ or error.__context__
    return message


def _access(record: logging.LogRecord) -> dict[str, Any]:
    """uvicorn's access line without the client address or query string (search terms)."""
    args = record.args
    if not isinstance(args, tuple) or len(args) != 5:
        return {}
    _client, method, full_path, _version, status = args
    return {"method": method, "path": str(full_path).split("?", 1)[0], "status": status}


def _through_root(logger: logging.Logger) -> None:
    logger.handlers.clear()
    logger.propagate = True


def configure_logging(level: int = logging.INFO) -> None:
    """Route every log record, uvicorn's and FastStream's too, through the JSON formatter."""
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # uvicorn configures its own handlers and formatters (which print tracebacks) before it
    # builds the app; take them back.
    for name in ("uvicorn", "uvicorn.error", "uvicorn.asgi", "faststream"):
        _through_root(logging.getLogger(name))
    access = logging.getLogger("uvicorn.access")
    if access.handlers:  # access logging is on (`--no-access-log` leaves it without any)
        _through_root(access)
    logging.getLogger("aiokafka").setLevel(logging.WARNING)
    logging.getLogger("pymongo").setLevel(logging.WARNING)
    logging.getLogger("faststream").setLevel(logging.WARNING)
