"""What the database sees of the lists: lookups by `_id` (one id or a batch), never a sort.

The development server (FerretDB) answers only `{_id: ...}` from an index; any other
filter or sort reads every announcement ever stored. A sent list and an inbox read the
owner's timeline heads and pages, the announcements found, and (for the inbox) the one
recipient bucket per announcement that would list the client, all by `_id`.
"""

from collections.abc import AsyncIterator
from typing import Any

import pytest
from fastapi import FastAPI
from pymongo import monitoring

from services.announcements.app import create_app
from tests.announcements.conftest import Service, announcements_settings
from tests.announcements.factories import new_practice, send, until_listed
from tests.announcements.test_stats_budget import ON_REQUEST, RequestRecorder, id_only
from tests.support import running
from tests.threads.test_command_budget import Recorder


@pytest.fixture(scope="module")
async def watched() -> AsyncIterator[tuple[Service, Recorder]]:
    settings = announcements_settings()
    recorder = RequestRecorder(settings.announcements_database)
    monitoring.register(recorder)  # applies to clients created from now on
    app: FastAPI = create_app(settings)
    async with running(app) as http:
        service = Service(http, app.state.deps, settings.announcements_database, app.state.outbox)
        yield service, recorder
    recorder.recording = False


async def recorded(
    service: Service, recorder: Recorder, path: str, headers: dict[str, str]
) -> tuple[list[dict[str, Any]], list[tuple[str, dict[str, Any]]]]:
    """A list walked page by page (two a page) and the commands its requests sent."""
    recorder.commands.clear()
    recorder.recording = True
    token = ON_REQUEST.set(True)
    items: list[dict[str, Any]] = []
    cursor = None
    try:
        while True:
            params: dict[str, Any] = {"limit": 2, **({"cursor": cursor} if cursor else {})}
            response = await service.http.get(path, params=params, headers=headers)
            assert response.status_code == 200, response.text
            items += response.json()["items"]
            cursor = response.json()["next_cursor"]
            if cursor is None:
                return items, list(recorder.commands)
    finally:
        ON_REQUEST.reset(token)
        recorder.recording = False


def by_id_without_sort(commands: list[tuple[str, dict[str, Any]]]) -> bool:
    return all(id_only(name, c) and "sort" not in c for name, c in commands)


@pytest.mark.parametrize("inbox", [False, True], ids=["sent", "inbox"])
async def test_a_list_reads_by_id_only_and_never_sorts(
    watched: tuple[Service, Recorder], inbox: bool
) -> None:
    service, recorder = watched
    practice = await new_practice(service, active=2)
    client = practice.clients[0]
    sent = [
        (await send(service.http, practice, {"client_ids": [client]}))["announcement_id"]
        for _ in range(3)
    ]
    other = await send(service.http, practice, {"client_ids": [practice.clients[1]]})
    path, headers, expected = (
        ("/v1/me/announcements", practice.client(client), sent[::-1])
        if inbox
        else ("/v1/announcements", practice.provider(), [other["announcement_id"], *sent[::-1]])
    )
    await until_listed(service.http, path, headers, expected)

    items, commands = await recorded(service, recorder, path, headers)

    assert [i["announcement_id"] for i in items] == expected
    assert any(name == "find" for name, _ in commands), commands
    assert by_id_without_sort(commands), commands
