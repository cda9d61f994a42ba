"""Domain errors answer as problem details through the PROBLEMS table (no servers)."""

import httpx
import pytest
from fastapi import FastAPI

from services.notify.api.errors import PROBLEMS, install_error_mapping
from services.notify.domain import MAX_DEVICES_PER_USER, DeviceNotFound, DomainError, TooManyDevices
from shared.problems import install_problem_handlers


def app_raising(error: Exception) -> FastAPI:
    app = FastAPI()
    install_problem_handlers(app)
    install_error_mapping(app)

    @app.get("/boom")
    async def boom() -> None:
        raise error

    return app


@pytest.mark.parametrize(
    ("error", "status", "code", "detail"),
    [
        (DeviceNotFound("d-1"), 404, "not_found", "No such device."),
        (
            TooManyDevices(),
            409,
            "too_many_devices",
            f"At most {MAX_DEVICES_PER_USER} devices per user; remove one first.",
        ),
    ],
)
async def test_each_domain_error_has_its_problem(
    error: Exception, status: int, code: str, detail: str
) -> None:
    transport = httpx.ASGITransport(app=app_raising(error))
    async with httpx.AsyncClient(transport=transport, base_url="http://notify") as http:
        r = await http.get("/boom")

    assert r.status_code == status
    assert r.headers["content-type"] == "application/problem+json"
    assert r.json()["code"] == code
    assert r.json()["detail"] == detail
    assert r.json()["type"] == f"https://errors.messaging.invalid/{code}"


def test_every_domain_error_is_in_the_table() -> None:
    assert set(DomainError.__subclasses__()) <= set(PROBLEMS)
