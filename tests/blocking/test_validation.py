"""Requests the blocking service refuses with 422 problem details."""

import pytest

from tests.blocking.conftest import Blocking
from tests.support import auth, unique


@pytest.mark.parametrize(
    "payload",
    [
        {"client_ids": ["c1"], "extra": True},
        {"client_ids": []},
        {"client_ids": [f"c{i}" for i in range(501)]},
        {"client_ids": [""]},
        {},
        {"client_ids": "c1"},
    ],
    ids=["unknown-field", "empty", "too-many", "empty-id", "missing", "not-a-list"],
)
async def test_bulk_block_rejects_an_invalid_body(
    blocking: Blocking, payload: dict[str, object]
) -> None:
    response = await blocking.http.post(
        "/v1/blocks", json=payload, headers=auth("p1", "provider", unique("pr-"))
    )

    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["code"] == "validation_failed"


async def test_bulk_block_rejects_malformed_json(blocking: Blocking) -> None:
    response = await blocking.http.post(
        "/v1/blocks",
        content=b'{"client_ids": [',
        headers={**auth("p1", "provider", unique("pr-")), "content-type": "application/json"},
    )

    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"


async def test_list_rejects_a_limit_out_of_range(blocking: Blocking) -> None:
    response = await blocking.http.get(
        "/v1/blocks", params={"limit": 0}, headers=auth("p1", "provider", unique("pr-"))
    )

    assert response.status_code == 422
