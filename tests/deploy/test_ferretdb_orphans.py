"""The development FerretDB starts even when a database file has no metadata table.

FerretDB 1.24 refuses to start ("no such table: _ferretdb_collections") if any file of
its directory lacks its metadata, such as an empty file left by a drop racing an open.
The wrapper (deploy/local/ferretdb/orphans.go) sets such files aside before it starts.
"""

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.faults.infra import PrivateFerretDB


@pytest.fixture
def ferretdb(tmp_path: Path) -> Iterator[PrivateFerretDB]:
    server = PrivateFerretDB(tmp_path)
    try:
        yield server
    finally:
        server.stop()


async def test_an_empty_database_file_is_set_aside_and_the_server_starts(
    ferretdb: PrivateFerretDB,
) -> None:
    data = ferretdb.directory / "data"
    (data / "test_empty.sqlite").write_bytes(b"")  # as SQLite leaves a file it opened empty

    ferretdb.start()
    await ferretdb.wait_ready(timeout=60)

    assert not (data / "test_empty.sqlite").exists()
    assert (data / "test_empty.sqlite.orphan").exists()
