"""Opaque list cursors: base64 of a small JSON position."""

import base64
import binascii
import json
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from shared.problems import Problem

MAX_LIMIT = 100

T = TypeVar("T")


def encode_cursor(position: dict[str, Any]) -> str:
    """An opaque cursor for the next page."""
    return base64.urlsafe_b64encode(json.dumps(position, default=str).encode()).decode()


def decode_cursor(cursor: str | None) -> dict[str, Any] | None:
    """The position a cursor names, or a 422 problem for a forged one."""
    if not cursor:
        return None
    try:
        value = json.loads(base64.urlsafe_b64decode(cursor.encode()))
    except (binascii.Error, ValueError, UnicodeDecodeError) as error:
        raise Problem(
            422, "invalid_cursor", "Invalid cursor", "The cursor is not valid."
        ) from error
    if not isinstance(value, dict):
        raise Problem(422, "invalid_cursor", "Invalid cursor", "The cursor is not valid.")
    return value


def after_key(cursor: str | None) -> str | None:
    """The sort key a name-ordered list's cursor resumes after, if any."""
    position = decode_cursor(cursor)
    key = position.get("k") if position else None
    return key if isinstance(key, str) else None


def keyed_page(
    found: Sequence[T], limit: int, key: Callable[[T], str]
) -> tuple[list[T], str | None]:
    """The first `limit` of `found` (fetched with one extra) and the cursor after them."""
    page = list(found[:limit])
    return page, encode_cursor({"k": key(page[-1])}) if len(found) > limit else None
