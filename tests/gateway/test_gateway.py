"""The gateway is the one origin: every contract path reaches its service through it."""

import asyncio
import ssl
import time
from pathlib import Path

import httpx
import pytest

from tests.e2e.conftest import System
from tests.e2e.steps import add_client, add_provider, client_opens, enable_messaging
from tests.gateway_process import GatewayProcess
from tests.pki import make_pki
from tests.sse import open_stream
from tests.support import auth, eventually, unique

# (method, path, the service that must answer it): every path prefix of contract v1.1.
ROUTES = [
    ("GET", "/v1/practice/messaging", "threads"),
    ("GET", "/v1/me/messaging-profile", "threads"),
    ("GET", "/v1/clients?q=ada", "threads"),
    ("GET", "/v1/threads", "threads"),
    ("GET", "/v1/threads/t-unknown/messages", "threads"),
    ("GET", "/v1/unread", "threads"),
    ("GET", "/v1/blocks", "blocking"),
    ("PUT", "/v1/blocks/c-unknown", "blocking"),
    ("GET", "/v1/announcements", "announcements"),
    ("GET", "/v1/announcements/a-unknown", "announcements"),
    ("GET", "/v1/me/announcements", "announcements"),
    ("GET", "/v1/me/devices", "notify"),
    ("GET", "/v1/me/notification-preferences", "notify"),
]


async def upstream_of(gateway: GatewayProcess, request_id: str) -> str:
    """The upstream address the gateway logged for a request."""

    async def logged() -> list[dict[str, object]]:
        return [e for e in gateway.access_log() if e["request_id"] == request_id]

    return str((await eventually(logged, timeout=5))[0]["upstream"])


@pytest.mark.parametrize(("method", "path", "service"), ROUTES)
async def test_each_contract_path_reaches_its_service(
    system: System, gateway: GatewayProcess, method: str, path: str, service: str
) -> None:
    practice, provider = unique("pr-"), unique("p-")
    headers = auth(provider, "provider", practice, admin=True)
    request_id = unique("req-")
    async with httpx.AsyncClient(timeout=10) as http:
        through = await http.request(
            method, gateway.url + path, headers={**headers, "X-Request-ID": request_id}
        )
        direct = await http.request(method, system.services[service].url + path, headers=headers)

    assert await upstream_of(gateway, request_id) == f"127.0.0.1:{system.services[service].port}"
    assert through.status_code == direct.status_code, through.text
    assert through.headers["content-type"] == direct.headers["content-type"]
    assert through.headers["X-Request-ID"] == request_id


async def test_unknown_paths_answer_404_problem_from_the_gateway(gateway: GatewayProcess) -> None:
    async with httpx.AsyncClient(timeout=10) as http:
        r = await http.get(gateway.url + "/v1/nowhere")
    assert r.status_code == 404
    assert r.headers["content-type"] == "application/problem+json"
    assert r.json()["code"] == "not_found"


@pytest.mark.parametrize("chunked", [False, True])
async def test_a_100_kb_body_is_refused_by_the_gateway_with_413(
    gateway: GatewayProcess, chunked: bool
) -> None:
    payload = b'{"body": "' + b"x" * 100_000 + b'", "client_message_id": "m"}'
    request_id = unique("req-")
    headers = {
        **auth(unique("p-"), "provider", unique("pr-")),
        "content-type": "application/json",
        "X-Request-ID": request_id,
    }

    async def chunks() -> object:
        for start in range(0, len(payload), 8192):
            yield payload[start : start + 8192]

    async with httpx.AsyncClient(timeout=10) as http:
        r = await http.post(
            gateway.url + "/v1/threads/t-x/messages",
            content=chunks() if chunked else payload,  # type: ignore[arg-type]
            headers=headers,
        )
    assert r.status_code == 413
    assert r.headers["content-type"] == "application/problem+json"
    assert r.json()["code"] == "payload_too_large"
    assert await upstream_of(gateway, request_id) == ""  # no service saw it


async def test_correlation_id_passes_through_to_the_service_and_back(
    gateway: GatewayProcess,
) -> None:
    headers = auth(unique("p-"), "provider", unique("pr-"))
    async with httpx.AsyncClient(timeout=10) as http:
        given = await http.get(
            gateway.url + "/v1/unread", headers={**headers, "X-Correlation-ID": "corr-123"}
        )
        fresh = await http.get(gateway.url + "/v1/unread", headers=headers)
    assert given.status_code == 200
    # Echoed by the service (shared.service.CorrelationId), so it reached it.
    assert given.headers["X-Correlation-ID"] == "corr-123"
    # Without one, the service runs under the gateway's request id.
    assert fresh.headers["X-Correlation-ID"] == fresh.headers["X-Request-ID"]
    assert len(fresh.headers["X-Request-ID"]) == 32


async def test_the_live_stream_is_not_buffered_by_the_gateway(
    system: System, gateway: GatewayProcess
) -> None:
    practice, provider = unique("pr-"), unique("p-")
    await add_provider(practice, provider)
    client = await add_client(system, practice, provider)
    as_provider = auth(provider, "provider", practice, admin=True)
    as_client = auth(client, "client", practice)
    async with (
        httpx.AsyncClient(base_url=gateway.url, timeout=10) as http,
        system.client("notify") as notify,
    ):
        await enable_messaging(http, practice, provider)
        opened = await client_opens(http, practice, provider, client)
        thread_id = opened.json()["thread_id"]
        # The same stream twice: through the gateway and straight from notify.
        async with (
            open_stream(http, "/v1/me/stream", as_provider) as proxied,
            open_stream(notify, "/v1/me/stream", as_provider) as direct,
        ):
            sent_at = time.monotonic()
            r = await http.post(
                f"/v1/threads/{thread_id}/messages",
                json={"body": "hello", "client_message_id": unique()},
                headers=as_client,
            )
            assert r.status_code == 201, r.text
            # A few hundred bytes: a buffering proxy would hold them back.
            through = await proxied.wait_for("message", thread_id=thread_id, seq=1, timeout=10)
            straight = await direct.wait_for("message", thread_id=thread_id, seq=1, timeout=10)
    print(
        f"\nlive event {1000 * (through.at - sent_at):.0f} ms after the send through the gateway,"
        f" {1000 * (straight.at - sent_at):.0f} ms straight from notify"
    )
    assert through.at - straight.at < 0.25


async def test_tls_is_terminated_by_configuration_and_stop_ends_the_process(
    system: System, tmp_path: Path
) -> None:
    pki = make_pki(tmp_path)
    upstreams = {name: f"127.0.0.1:{s.port}" for name, s in system.services.items()}
    tls = GatewayProcess(tmp_path / "gateway", upstreams, tls=(pki.client_cert, pki.client_key))
    tls.start()
    pid = tls.pid
    try:
        headers = auth(unique("p-"), "provider", unique("pr-"))
        context = ssl.create_default_context(cafile=str(pki.ca))
        async with httpx.AsyncClient(verify=context, timeout=10) as https:
            r = await https.get(f"{tls.tls_url}/v1/unread", headers=headers)
        assert r.status_code == 200
        assert r.headers["Strict-Transport-Security"].startswith("max-age=")
    finally:
        tls.stop()

    async def gone() -> bool:
        try:
            await asyncio.to_thread(Path(f"/proc/{pid}").stat)
        except FileNotFoundError:
            return True
        return False

    assert await eventually(gone, timeout=10)
