"""Notify service: devices, preferences, delivery records, push, email and live events."""
