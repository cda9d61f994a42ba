"""Identifier helpers: random ids for new things, stable ids for re-derived events."""

import uuid

_NAMESPACE = uuid.UUID("6f1c8a52-5d0e-4c1e-9a51-2f0f3b7c9d10")


def new_id() -> str:
    """A fresh random identifier."""
    return str(uuid.uuid4())


def stable_uuid(*parts: object) -> uuid.UUID:
    """The same UUID for the same parts, so a republished event keeps its event_id."""
    return uuid.uuid5(_NAMESPACE, "\x1f".join(str(p) for p in parts))
