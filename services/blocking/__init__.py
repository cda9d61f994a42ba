"""Blocking service: providers' block lists of their practice's clients."""
