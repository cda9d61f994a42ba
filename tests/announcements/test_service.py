"""The service shell: health without a token, the AsyncAPI contract, tokens required."""

from tests.announcements.conftest import Service


async def test_health_needs_no_token(service: Service) -> None:
    live = await service.http.get("/health/live")
    ready = await service.http.get("/health/ready")

    assert live.status_code == ready.status_code == 200


async def test_asyncapi_documents_consumed_and_published_topics(service: Service) -> None:
    response = await service.http.get("/asyncapi.json")

    channels = " ".join(response.json()["channels"])
    assert "practice.clients.v1" in channels
    assert "messaging.deliveries.v1" in channels
    assert "messaging.announcements.v1" in channels


async def test_endpoints_need_a_bearer_token(service: Service) -> None:
    responses = [
        await service.http.get("/v1/announcements"),
        await service.http.get("/v1/me/announcements"),
        await service.http.post("/v1/announcements/preview", json={}),
    ]

    assert [r.status_code for r in responses] == [401, 401, 401]


async def test_readiness_is_decided_by_the_database_and_reports_the_broker_and_backlog(
    service: Service,
) -> None:
    body = (await service.http.get("/health/ready")).json()

    # Writes go on through the outbox while the broker is away: it is reported, not decisive.
    assert set(body["checks"]) == {"mongodb"} or set(body["checks"]) == {"mongodb", "consumers"}
    assert body["reports"] == {"kafka": True, "outbox_backlog": 0}
