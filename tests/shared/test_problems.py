"""Every error is an RFC 9457 problem, and none echoes what the caller sent."""

from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import APIRouter, FastAPI
from pydantic import BaseModel, ConfigDict

from shared.auth import CurrentCaller, TokenVerifier
from shared.problems import install_problem_handlers
from shared.settings import AuthSettings
from tests.support import JWT_SECRET, auth

router = APIRouter()


class Note(BaseModel):
    model_config = ConfigDict(extra="forbid")
    body: str


@router.post("/notes")
async def post_note(note: Note, caller: CurrentCaller) -> dict[str, str]:
    return {"by": caller.id}


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    app = FastAPI()
    install_problem_handlers(app)
    app.include_router(router)
    app.state.verifier = TokenVerifier(AuthSettings(messaging_jwt_secret=JWT_SECRET))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as c:
        yield c


def assert_problem(response: httpx.Response, status: int, code: str) -> None:
    assert response.status_code == status
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    assert {"type", "title", "status", "detail", "code"} <= problem.keys()
    assert (problem["status"], problem["code"]) == (status, code)


async def test_missing_token_is_a_401_problem(client: httpx.AsyncClient) -> None:
    response = await client.post("/notes", json={"body": "x"})

    assert_problem(response, 401, "unauthorized")
    assert response.headers["www-authenticate"] == "Bearer"


async def test_validation_error_is_a_422_problem_without_the_input(
    client: httpx.AsyncClient,
) -> None:
    response = await client.post(
        "/notes",
        json={"body": "SENTINEL-PHI", "extra": "SENTINEL-PHI"},
        headers=auth("u", "provider", "p"),
    )

    assert_problem(response, 422, "validation_failed")
    assert "SENTINEL-PHI" not in response.text


async def test_malformed_json_is_a_422_problem(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/notes",
        content=b"{nope",
        headers={**auth("u", "provider", "p"), "content-type": "application/json"},
    )

    assert_problem(response, 422, "validation_failed")


async def test_unknown_path_is_a_404_problem(client: httpx.AsyncClient) -> None:
    assert_problem(await client.get("/nowhere"), 404, "not_found")
