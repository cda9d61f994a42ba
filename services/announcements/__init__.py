"""Announcements service: one message to many clients, its recipients, stats and inboxes."""
