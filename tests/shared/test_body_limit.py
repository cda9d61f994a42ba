"""Every service refuses a request body over 64 KiB with 413, before parsing or storing it."""

import json
from collections.abc import AsyncIterator

import httpx
import pytest

from services.blocking.app import create_app
from shared.body_limit import MAX_BODY_BYTES
from tests.blocking.conftest import Blocking, blocking_settings
from tests.support import auth, running, unique


@pytest.fixture(scope="module")
async def blocking() -> AsyncIterator[Blocking]:
    """A real service (blocking) on the real infrastructure."""
    app = create_app(blocking_settings())
    async with running(app) as client:
        yield Blocking(client, app)


def bulk_block(size: int) -> bytes:
    """A well-formed bulk-block body of about `size` bytes (500 ids at most, as allowed)."""
    ids = [unique("c-").ljust(size // 500, "x")[:200] for _ in range(500)]
    return json.dumps({"client_ids": ids}).encode()


def provider() -> dict[str, str]:
    return {**auth(unique("p-"), "provider", unique("pr-")), "content-type": "application/json"}


def assert_too_large(response: httpx.Response) -> None:
    assert response.status_code == 413
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["code"] == "payload_too_large"


async def test_body_over_the_limit_is_refused_with_413(blocking: Blocking) -> None:
    body = bulk_block(100_000)
    assert len(body) > MAX_BODY_BYTES

    response = await blocking.http.post("/v1/blocks", content=body, headers=provider())

    assert_too_large(response)


async def test_oversized_body_is_refused_before_it_is_parsed(blocking: Blocking) -> None:
    malformed = b'{"client_ids": [' + b'"x",' * 20_000  # would be 422 if it were parsed

    response = await blocking.http.post("/v1/blocks", content=malformed, headers=provider())

    assert_too_large(response)


async def test_chunked_body_over_the_limit_is_refused_with_413(blocking: Blocking) -> None:
    async def chunks() -> AsyncIterator[bytes]:
        body = bulk_block(100_000)
        for start in range(0, len(body), 8192):
            yield body[start : start + 8192]

    response = await blocking.http.post("/v1/blocks", content=chunks(), headers=provider())

    assert "content-length" not in response.request.headers
    assert_too_large(response)


async def test_body_understating_its_length_is_refused_with_413(blocking: Blocking) -> None:
    async def chunks() -> AsyncIterator[bytes]:
        yield bulk_block(100_000)

    headers = {**provider(), "content-length": "10"}
    response = await blocking.http.post("/v1/blocks", content=chunks(), headers=headers)

    assert_too_large(response)


async def test_body_within_the_limit_reaches_the_route(blocking: Blocking) -> None:
    body = bulk_block(60_000)
    assert len(body) <= MAX_BODY_BYTES

    response = await blocking.http.post("/v1/blocks", content=body, headers=provider())

    assert response.status_code == 404  # parsed and handled: the ids are not clients
    assert response.json()["code"] == "not_found"


async def test_chunked_body_within_the_limit_reaches_the_route(blocking: Blocking) -> None:
    async def chunks() -> AsyncIterator[bytes]:
        yield b'{"client_ids": '
        yield b"[]}"

    response = await blocking.http.post("/v1/blocks", content=chunks(), headers=provider())

    assert response.status_code == 422
    assert response.json()["code"] == "validation_failed"


async def test_a_response_echoes_the_callers_correlation_id(blocking: Blocking) -> None:
    cid = unique("cid-")

    echoed = await blocking.http.get("/health/live", headers={"x-correlation-id": cid})
    minted = await blocking.http.get("/health/live")

    assert echoed.headers["x-correlation-id"] == cid
    assert minted.headers["x-correlation-id"] not in ("", cid)


async def test_a_refused_body_still_carries_a_correlation_id(blocking: Blocking) -> None:
    cid = unique("cid-")
    headers = {**provider(), "x-correlation-id": cid}

    r = await blocking.http.post("/v1/blocks", content=bulk_block(100_000), headers=headers)

    assert_too_large(r)
    assert r.headers["x-correlation-id"] == cid
