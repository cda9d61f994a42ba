"""The JSON log formatter: exceptions by type only, whoever logs them and however."""

import logging
import sys
from collections.abc import Iterator

import pytest

from shared.observability import JsonFormatter, configure_logging

SENTINEL = "Sentinel-Ada-Lovelace-51e0"


def record(
    msg: str, *args: object, name: str = "faststream", error: BaseException | None = None
) -> logging.LogRecord:
    exc_info = (type(error), error, error.__traceback__) if error is not None else None
    return logging.LogRecord(name, logging.ERROR, __file__, 1, msg, args or None, exc_info)


def raised(error: BaseException) -> BaseException:
    try:
        raise error
    except BaseException as caught:
        return caught


def test_a_message_quoting_its_exception_shows_the_type_instead() -> None:
    error = raised(ValueError(f"bad value {SENTINEL}"))

    line = JsonFormatter().format(record(f"{type(error).__name__}: {error}", error=error))

    assert SENTINEL not in line
    assert "Traceback" not in line
    assert '"exc_type": "ValueError"' in line


def test_a_message_quoting_a_chained_exceptions_repr_shows_the_type_instead() -> None:
    cause = ValueError(f"bad value {SENTINEL}")
    error = raised(RuntimeError("wrapped"))
    error.__cause__ = cause

    line = JsonFormatter().format(
        record("Task exception was never retrieved: exception=%r", cause, error=error)
    )

    assert SENTINEL not in line


def test_an_exception_passed_as_an_argument_is_logged_by_type() -> None:
    line = JsonFormatter().format(record("failed: %s", KeyError(SENTINEL), name="shared.kafka"))

    assert SENTINEL not in line
    assert "failed: KeyError" in line


def test_an_exception_passed_as_an_extra_field_is_logged_by_type() -> None:
    entry = record("failed")
    entry.error = ValueError(SENTINEL)

    line = JsonFormatter().format(entry)

    assert SENTINEL not in line
    assert '"error": "ValueError"' in line


def test_an_access_line_has_no_query_string_or_client_address() -> None:
    access = record(
        '%s - "%s %s HTTP/%s" %d',
        "203.0.113.9:5555",
        "GET",
        f"/v1/clients?q={SENTINEL}",
        "1.1",
        200,
        name="uvicorn.access",
    )

    line = JsonFormatter().format(access)

    assert SENTINEL not in line
    assert "203.0.113.9" not in line
    assert '"path": "/v1/clients"' in line


@pytest.fixture
def uvicorn_loggers() -> Iterator[None]:
    """Restore the loggers configure_logging changes."""
    names = ("uvicorn", "uvicorn.error", "uvicorn.access")
    saved = {n: (logging.getLogger(n).handlers[:], logging.getLogger(n).propagate) for n in names}
    root = logging.getLogger().handlers[:]
    yield
    for name, (handlers, propagate) in saved.items():
        logging.getLogger(name).handlers[:] = handlers
        logging.getLogger(name).propagate = propagate
    logging.getLogger().handlers[:] = root


@pytest.mark.usefixtures("uvicorn_loggers")
def test_uvicorn_loggers_go_through_the_json_formatter() -> None:
    for name in ("uvicorn", "uvicorn.access"):
        logging.getLogger(name).handlers[:] = [logging.StreamHandler(sys.stderr)]
        logging.getLogger(name).propagate = False

    configure_logging()

    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        assert logging.getLogger(name).handlers == []
        assert logging.getLogger(name).propagate
    assert isinstance(logging.getLogger().handlers[0].formatter, JsonFormatter)


@pytest.mark.usefixtures("uvicorn_loggers")
def test_a_disabled_access_log_stays_disabled() -> None:
    access = logging.getLogger("uvicorn.access")
    access.handlers[:] = []
    access.propagate = False  # what uvicorn's --no-access-log leaves

    configure_logging()

    assert not access.hasHandlers()
