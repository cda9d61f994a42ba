"""A real service (blocking) plus one route that fails, for running under the uvicorn CLI."""

import os

from fastapi import FastAPI

from services.blocking.app import create_app as create_blocking_app


def create_app() -> FastAPI:
    """The blocking service with `GET /v1/test/fail`, which raises quoting FAILING_APP_TEXT."""
    app = create_blocking_app()
    text = os.environ["FAILING_APP_TEXT"]

    async def fail() -> None:
        raise RuntimeError(f"could not handle {text}")

    app.add_api_route("/v1/test/fail", fail, methods=["GET"])
    return app
