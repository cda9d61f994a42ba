"""Versioned event contracts, one module per producer."""

from shared.events.base import Event

__all__ = ["Event"]
