"""Opaque list cursors: base64 of a small JSON position."""

import base64
import binascii
import json
from typing import Any

from shared.problems import Problem

MAX_LIMIT = 100


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
