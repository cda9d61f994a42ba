"""Threads service: settings, threads, messages, read and archive state."""
