"""Announcements use cases: small classes bound to their ports by the composition root."""
