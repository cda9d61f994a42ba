"""Threads use cases; framework-free, collaborators passed in as keyword arguments."""
