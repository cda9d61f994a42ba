"""The unit tier: domain and use cases on small in-memory stores, no servers at all."""

from collections.abc import Iterator

import pytest


@pytest.fixture(scope="session", autouse=True)
def infrastructure() -> Iterator[None]:
    """Overrides the session fixture that needs Kafka and MongoDB: nothing to start here."""
    yield
