"""Adapters to the outside: the push gateway, the mail server, the in-process live hub."""
