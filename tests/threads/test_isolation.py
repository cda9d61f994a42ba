"""Nobody sees a thread they do not take part in: every thread endpoint answers 404."""

import httpx
import pytest

from tests.support import auth, unique
from tests.threads.factory import Conversation, conversation, send

ENDPOINTS = [
    ("GET", ""),
    ("GET", "/messages"),
    ("POST", "/messages"),
    ("POST", "/read"),
    ("POST", "/unread"),
    ("POST", "/archive"),
    ("POST", "/unarchive"),
]


@pytest.fixture(scope="module")
async def chat(threads: httpx.AsyncClient) -> Conversation:
    """One conversation with a message, shared by the matrix below."""
    chat = await conversation(threads)
    await send(threads, chat.thread_id, chat.client, "private")
    return chat


def outsiders(chat: Conversation) -> dict[str, dict[str, str]]:
    """Callers who must not see the thread."""
    practice = chat.practice
    return {
        "same provider id in another practice": auth(
            practice.provider_id, "provider", unique("pr-")
        ),
        "same client id in another practice": auth(chat.client_id, "client", unique("pr-")),
        "another provider of the practice": practice.provider(unique("p-")),
        "another client of the practice": practice.client(unique("c-")),
    }


@pytest.mark.parametrize(("method", "suffix"), ENDPOINTS)
async def test_outsiders_get_not_found(
    threads: httpx.AsyncClient, chat: Conversation, method: str, suffix: str
) -> None:
    for who, headers in outsiders(chat).items():
        r = await threads.request(
            method,
            f"/v1/threads/{chat.thread_id}{suffix}",
            headers=headers,
            json={"body": "intrusion", "client_message_id": unique()}
            if suffix == "/messages" and method == "POST"
            else None,
        )
        assert r.status_code == 404, (who, r.text)
        assert r.json()["code"] == "not_found"
        assert "private" not in r.text


async def test_unknown_threads_are_not_found(
    threads: httpx.AsyncClient, chat: Conversation
) -> None:
    r = await threads.get(f"/v1/threads/{unique()}", headers=chat.provider)

    assert r.status_code == 404


async def test_outsiders_changed_nothing(threads: httpx.AsyncClient, chat: Conversation) -> None:
    for method, suffix in ENDPOINTS:
        for headers in outsiders(chat).values():
            await threads.request(
                method,
                f"/v1/threads/{chat.thread_id}{suffix}",
                headers=headers,
                json={"body": "x", "client_message_id": unique()}
                if suffix == "/messages" and method == "POST"
                else None,
            )

    view = (await threads.get(f"/v1/threads/{chat.thread_id}", headers=chat.provider)).json()
    history = await threads.get(f"/v1/threads/{chat.thread_id}/messages", headers=chat.provider)
    assert (view["unread"], view["archived"]) == (True, False)
    assert [m["body"] for m in history.json()["items"]] == ["private"]


async def test_lists_show_only_the_callers_threads(
    threads: httpx.AsyncClient, chat: Conversation
) -> None:
    for headers in outsiders(chat).values():
        r = await threads.get("/v1/threads", headers=headers)
        assert chat.thread_id not in [t["thread_id"] for t in r.json()["items"]]


async def test_admins_without_a_role_in_threads_are_refused(
    threads: httpx.AsyncClient, chat: Conversation
) -> None:
    headers = auth(unique("a-"), "admin", chat.practice.practice_id)

    r = await threads.get(f"/v1/threads/{chat.thread_id}", headers=headers)

    assert r.status_code == 403


async def test_clients_cannot_search_the_client_directory(
    threads: httpx.AsyncClient, chat: Conversation
) -> None:
    r = await threads.get("/v1/clients", headers=chat.client)

    assert r.status_code == 403


async def test_requests_without_a_token_are_unauthorized(
    threads: httpx.AsyncClient, chat: Conversation
) -> None:
    r = await threads.get(f"/v1/threads/{chat.thread_id}")

    assert r.status_code == 401
