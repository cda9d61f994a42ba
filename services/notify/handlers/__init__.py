"""Notify use cases; framework-free, collaborators passed in."""
